"""What real shops' pages do to an extractor: sale prices beside lying structured data, products split
over several JSON-LD blocks, related products' markup, ranges, zero placeholders, stock states, codes."""

import json

from crawlers.listing_extraction import IN_STOCK, OUT_OF_STOCK, extract_listing


def ld(*nodes):
    return "".join(f'<script type="application/ld+json">{json.dumps(n)}</script>' for n in nodes)


def test_a_sale_price_shown_beside_the_struck_structured_one_wins():
    page = f"""<html><head><title>Soma Rosso | Shop</title>{ld({"@type": "Product", "name": "Soma Rosso",
        "offers": {"@type": "Offer", "price": "219.99", "priceCurrency": "EUR"}})}</head><body>
        <div class="related"><s class="old-price">EUR219.99</s><span class="price">EUR153.99</span></div>
        <h1>Soma Rosso</h1><div class="price-block"><span class="original-price">EUR219.99</span>
        <span class="current-price">EUR110.00</span></div></body></html>"""
    got = extract_listing(page, "https://shop.example.lv/soma")
    assert (got.price, got.list_price, got.currency, got.price_source) == (110.0, 219.99, "EUR", "jsonld")


def test_a_product_split_over_blocks_and_an_offer_on_its_own():
    page = f"""<html><head><title>Cup</title>{ld({"@type": "Product", "name": "Kestrava cup", "sku": "KC-1"},
        {"@type": "Offer", "price": "12.50", "priceCurrency": "EUR", "availability": "https://schema.org/OutOfStock"})}
        </head><body><h1>Kestrava cup</h1></body></html>"""
    got = extract_listing(page, "https://shop.example.com/cup")
    assert (got.title, got.sku, got.price, got.currency, got.availability) == ("Kestrava cup", "KC-1", 12.5, "EUR", OUT_OF_STOCK)


def test_the_pages_own_product_among_related_products_markup():
    related = {"@type": "Product", "name": "Some other lamp", "offers": {"price": "5", "priceCurrency": "GBP"}}
    own = {"@type": "Product", "name": "Pelarboj table lamp", "offers": {"price": "25", "priceCurrency": "GBP"}}
    page = f"<html><head><title>Pelarboj table lamp - IKEA</title>{ld(related, own)}</head><body><h1>Pelarboj table lamp</h1></body></html>"
    assert extract_listing(page, "https://www.ikea.com/gb/en/p/pelarboj").price == 25.0


def test_nested_offers_ranges_and_zero_placeholders():
    nested = {"@type": "Product", "name": "Angel Teddy Bear", "offers": {"@type": "Offer", "offers": {
        "@type": "Offer", "price": "12.99", "priceCurrency": "GBP"}}}
    got = extract_listing(f"<html><head>{ld(nested)}</head><body><h1>Angel Teddy Bear</h1></body></html>",
                          "https://www.ebay.it/itm/133588510845")
    assert (got.price, got.currency, got.sku) == (12.99, "GBP", "133588510845")  # the item number from the URL
    ranged = {"@type": "Product", "name": "BabyBjorn One", "offers": {"@type": "AggregateOffer", "lowPrice": "502.20",
                                                                     "highPrice": "558.00", "priceCurrency": "BYN"}}
    got = extract_listing(f"<html><head>{ld(ranged)}</head><body><h1>BabyBjorn One</h1></body></html>", "https://kids.1k.by/x")
    assert (got.price, got.price_max, got.currency) == (502.2, 558.0, "BYN")
    zero = {"@type": "Product", "name": "Nest Mini", "offers": {"price": "0.00", "priceCurrency": "GBP"}}
    got = extract_listing(f"<html><head>{ld(zero)}</head><body><h1>Nest Mini</h1><p class='price'>£49.00</p></body></html>",
                          "https://www.johnlewis.com/nest-mini/p4781720")
    assert (got.price, got.currency, got.price_source) == (49.0, "GBP", "html")


def test_visible_price_nearest_the_heading_and_currency_from_the_country():
    page = """<html lang="es-CL"><head><title>Lina de Lima</title></head><body>
        <div class="header"><span class="cart-price">$0</span></div><h1>Lina de Lima</h1>
        <p class="calendar-prices">Precios: $3.340</p><div class="recommended"><span class="price">$9.990</span></div></body></html>"""
    got = extract_listing(page, "https://www.puntoticket.com/evento/lina-de-lima")
    assert (got.price, got.currency, got.price_source, got.extraction) == (3340.0, "CLP", "html", "html")


def test_availability_from_the_page_not_from_hidden_templates():
    page = """<html><head><title>Pult Eglo</title></head><body><h1>Pult Eglo</h1>
        <div class="variationUnavailable" style="display:none">Bild nicht verfügbar</div>
        <div id="availability"><span>Derzeit nicht verfügbar.</span></div></body></html>"""
    assert extract_listing(page, "https://www.amazon.de/dp/B00BRMIU7A").availability == OUT_OF_STOCK
    shown = """<html><body><h1>Cup</h1><span class="unavailable-label hidden">Produkt niedostępny</span>
        <p class="stock-info">Na stanie</p></body></html>"""
    assert extract_listing(shown, "https://www.example.pl/p/1").availability == IN_STOCK


def test_titles_from_the_heading_the_document_title_agrees_with():
    page = """<html><head><title>Pink Dog Hair Dye 50ml: Amazon.it: Casa e cucina</title></head><body>
        <h1>Aggiunta al carrello in corso...</h1><h1><span>Pink Dog</span><span>Hair Dye 50ml</span></h1></body></html>"""
    assert extract_listing(page, "https://www.amazon.it/dp/B0756B4GVG").title == "Pink Dog Hair Dye 50ml"
    shortened = f"""<html><head><title>Tommy Jeans OFLEKI | Spartoo</title>{ld({"@type": "Product", "name": "OFLEKI"})}</head>
        <body><h1>Tommy Jeans OFLEKI</h1></body></html>"""
    assert extract_listing(shortened, "https://www.spartoo.pt/x3410048.php").title == "Tommy Jeans OFLEKI"


def test_sku_is_a_code_not_a_model_name():
    page = f"""<html><head>{ld({"@type": "Product", "name": "PC", "productID": "OPTIPLEX 9010 TOWER",
        "offers": {"price": "1679", "priceCurrency": "ILS"}})}</head><body><h1>PC</h1></body></html>"""
    assert extract_listing(page, "https://www.getit.co.il/Prod/144432/").sku == "144432"
    labelled = "<html><body><h1>Cup</h1><ul><li>Art.-Nr.: 4711-B</li></ul></body></html>"
    assert extract_listing(labelled, "https://shop.example.de/cup").sku == "4711-B"


def test_a_shown_price_range_keeps_its_upper_end():
    page = """<html><body><h1>BabyBjorn One</h1><div class="spec-price">502,20 – 558,00 б.р.</div></body></html>"""
    got = extract_listing(page, "https://kids.1k.by/babybjorn-one")
    assert (got.price, got.price_max, got.currency) == (502.2, 558.0, "BYN")
    single = extract_listing("<html><body><h1>Cup</h1><span class='price'>ab 19,99 €</span></body></html>", "https://x.de/cup")
    assert (single.price, single.price_max, single.currency) == (19.99, None, "EUR")
    discount = extract_listing("<html><body><h1>Cup</h1><span class='price'>12,99 € - 20%</span></body></html>", "https://x.de/c")
    assert (discount.price, discount.price_max) == (12.99, None)


def test_a_bare_number_after_a_struck_price_is_the_price_asked():
    page = """<html><head><title>鵝肉鬆 250g｜PChome</title></head><body><h1>鵝肉鬆 250g</h1>
        <p><del>$420</del> <font>7</font>折 <span>294</span> 元</p></body></html>"""
    got = extract_listing(page, "https://www.pcstore.com.tw/p/M67296549.htm")
    assert (got.price, got.list_price, got.currency) == (294.0, 420.0, "TWD")


def test_sku_from_a_data_layer_when_markup_has_none_and_a_label_needs_a_code():
    page = """<html><body><h1>Microondas Panasonic</h1><p>Código Civil</p>
        <script>var meta = {"product": {"variants": [{"sku":"1236291","name":"Microondas"}]}};</script></body></html>"""
    assert extract_listing(page, "https://mediamarkt.pt/products/micro-ondas").sku == "1236291"


def test_a_bare_number_after_a_struck_price_in_the_next_row_and_a_discount_is_no_price():
    page = """<html><head><title>鵝肉鬆 250g｜PChome</title></head><body><h1>鵝肉鬆 250g</h1><table>
        <tr><td class="t13"><strong>建議售價</strong><font><del>$420</del></font><span>元</span></td></tr>
        <tr><td><strong>特價</strong><b><font>7</font> 折</b> <span>294</span><span> 元 </span></td></tr>
        </table></body></html>"""
    got = extract_listing(page, "https://www.pcstore.com.tw/p/M67296549.htm")
    assert (got.price, got.list_price, got.currency) == (294.0, 420.0, "TWD")
    # Near miss: only the discount (7, a tenth of the struck price) follows: no plausible sale price.
    alone = page.replace("<span>294</span>", "")
    assert extract_listing(alone, "https://www.pcstore.com.tw/p/M67296549.htm").price != 7.0


def test_the_single_price_just_before_the_buy_button_when_the_markup_shows_only_price_blocks():
    page = """<html><head><title>蒜香肉條｜愛上新鮮</title></head><body><h1>蒜香肉條</h1>
        <div class="pdeal">最低價$<span>99</span>元起/包</div>
        <a id="buy_btn" href="#"><div class="buy_btn"></div></a>
        <div class="btn_price">買一組 每組990元 原價1,390 現省$400</div></body></html>"""
    got = extract_listing(page, "https://i3fresh.tw/favorable_1409.html")
    assert (got.price, got.currency, got.price_source) == (99.0, "TWD", "html")
    # Near misses: a priced text with several numbers before the button is no single price, and a
    # page with no buy button keeps the price block.
    ladder = page.replace("最低價$<span>99</span>元起/包", "50 - $2 100 - $3")
    assert extract_listing(ladder, "https://i3fresh.tw/favorable_1409.html").price == 990.0
    no_button = page.replace('id="buy_btn"', "").replace('class="buy_btn"', "")
    assert extract_listing(no_button, "https://i3fresh.tw/favorable_1409.html").price == 990.0


def test_a_sale_price_is_a_plausible_part_of_the_struck_price():
    def page(after):
        return f"""<html><head><title>Soma Rosso | Shop</title>{ld({"@type": "Product", "name": "Soma Rosso",
            "offers": {"@type": "Offer", "price": "219.99", "priceCurrency": "EUR"}})}</head><body>
            <h1>Soma Rosso</h1><div class="price-block"><span class="original-price">EUR219.99</span>
            <span class="{after[0]}">{after[1]}</span></div></body></html>"""

    sale = extract_listing(page(("current-price", "EUR59.00")), "https://shop.example.lv/soma")
    assert (sale.price, sale.list_price) == (59.0, 219.99)
    # Near miss: a discount or a rating shown right after the struck price is no sale price.
    for after in (("price-discount", "EUR 5"), ("price-rating", "4.5")):
        got = extract_listing(page(after), "https://shop.example.lv/soma")
        assert (got.price, got.list_price) == (219.99, None), after
