"""brandhound's spiders; ``scrapy list`` shows them."""
