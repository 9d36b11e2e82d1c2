"""ISO 4217 currency codes, their minor units and the currency each country uses, for prices and profiles."""

ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()
)
#: Withdrawn codes that saved pages and old listings still show (the Croatian kuna until 2023,
#: the Sierra Leonean leone's old code), and the code Russian shops still write for the rouble.
HISTORICAL = {"HRK": "HRK", "SLL": "SLL", "RUR": "RUB", "BYR": "BYN", "VEF": "VES"}

#: Currencies whose amounts carry no minor unit in practice: "24.990" there is twenty-four thousand.
NO_MINOR_UNIT = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF HUF KZT TWD IDR".split())
#: Currencies with three decimals, where "1.250" really is one and a quarter.
THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

#: The currency of each country, by ISO 3166 alpha-2 code (also the country-code top-level domain,
#: with "uk" for GB). A price without a currency on a shop of that country is in that currency.
COUNTRY_CURRENCY: dict[str, str] = {
    **dict.fromkeys("at be cy de ee es fi fr gr ie it lt lu lv mt nl pt si sk hr ad mc sm va me xk".split(), "EUR"),
    "uk": "GBP", "gb": "GBP", "us": "USD", "ca": "CAD", "au": "AUD", "nz": "NZD", "mx": "MXN", "br": "BRL",
    "ar": "ARS", "cl": "CLP", "co": "COP", "pe": "PEN", "uy": "UYU", "py": "PYG", "bo": "BOB", "ve": "VES",
    "ec": "USD", "cr": "CRC", "gt": "GTQ", "do": "DOP", "pa": "PAB",
    "ch": "CHF", "li": "CHF", "se": "SEK", "no": "NOK", "dk": "DKK", "is": "ISK", "pl": "PLN", "cz": "CZK",
    "hu": "HUF", "ro": "RON", "md": "MDL", "bg": "BGN", "rs": "RSD", "ba": "BAM", "mk": "MKD", "al": "ALL",
    "ua": "UAH", "by": "BYN", "ru": "RUB", "kz": "KZT", "uz": "UZS", "ge": "GEL", "am": "AMD", "az": "AZN",
    "tr": "TRY", "il": "ILS", "sa": "SAR", "ae": "AED", "qa": "QAR", "kw": "KWD", "bh": "BHD", "om": "OMR",
    "jo": "JOD", "eg": "EGP", "ma": "MAD", "tn": "TND", "dz": "DZD", "ng": "NGN", "ke": "KES", "za": "ZAR",
    "gh": "GHS", "in": "INR", "pk": "PKR", "lk": "LKR", "bd": "BDT", "np": "NPR", "cn": "CNY", "hk": "HKD",
    "tw": "TWD", "jp": "JPY", "kr": "KRW", "sg": "SGD", "my": "MYR", "th": "THB", "vn": "VND", "ph": "PHP",
    "id": "IDR", "kh": "KHR", "mn": "MNT",
}
