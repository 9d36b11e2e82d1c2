"""The Scrapy project: spiders, downloader middlewares and settings."""
