"""How commands print: one flushed line at a time, so a reader of a pipe sees each at once."""


def out(line: str = "") -> None:
    print(line, flush=True)
