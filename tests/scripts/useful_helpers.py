"""Beside useful_crash.py: its frames are the application's (in_app), found after the crash."""


def fail(kind: str, text: str) -> None:
    if kind == "none_attr":
        None.x  # type: ignore[attr-defined]  # noqa: B018
    elif kind == "divide":
        print(1 / 0)
    elif kind == "open_missing":
        with open(f"/{text}/settings.toml"):
            pass
    elif kind == "parse_section":
        raise ValueError(f"cannot parse section {text!r}: expected a table of settings")
    else:
        config = {"name": text}
        print(config["missing_config_key"])
