"""Service bootstrapper that dies with an uncaught, chained exception.

Loads a layered configuration (defaults < file < overrides), validates it
through several nested helper functions, prints progress to stdout, and
finally fails on a bad port value.  The resulting traceback goes through
several frames of this script, includes an implicit "During handling of
the above exception" chain, and python exits with status 1.
"""
import sys

DEFAULTS = {"service": {"name": "api", "port": 8080, "workers": 4},
            "db": {"host": "localhost", "port": 5432, "pool": 10}}
FILE_CONFIG = """
service.name = billing
service.workers = 8
db.host = db.internal
db.pool = 25
"""
OVERRIDES = ["service.port=80", "db.port=fivefourthreetwo"]


class ConfigError(Exception):
    pass


def parse_lines(text):
    pairs = []
    for n, raw in enumerate(text.strip().splitlines(), 1):
        key, _, value = raw.partition("=")
        pairs.append((key.strip(), value.strip(), f"file:{n}"))
    return pairs


def merge(base, dotted, value, origin, log):
    section, _, key = dotted.partition(".")
    if section not in base:
        raise ConfigError(f"unknown section {section!r} from {origin}")
    old = base[section].get(key)
    base[section][key] = value
    log.append(f"{origin:<12} {dotted:<16} {old!r} -> {value!r}")


def coerce_int(section, key, value):
    return int(value)


def validate_port(section, value):
    port = coerce_int(section, "port", value)
    if not 0 < port < 65536:
        raise ConfigError(f"{section}.port {port} out of range")
    return port


def validate_section(name, section):
    checked = {}
    for key, value in section.items():
        if key == "port":
            checked[key] = validate_port(name, value)
        elif key in ("workers", "pool"):
            checked[key] = coerce_int(name, key, value)
        else:
            checked[key] = str(value)
    return checked


def validate(config):
    result = {}
    for name, section in config.items():
        try:
            result[name] = validate_section(name, section)
        except ValueError:
            raise ConfigError(f"section {name!r} has a non-numeric value")
        print(f"validated [{name}] -> {result[name]}")
    return result


def bootstrap():
    config = {k: dict(v) for k, v in DEFAULTS.items()}
    log = []
    for key, value, origin in parse_lines(FILE_CONFIG):
        merge(config, key, value, origin, log)
    for i, item in enumerate(OVERRIDES):
        key, _, value = item.partition("=")
        merge(config, key, value, f"override:{i}", log)
    print("merge log:")
    for line in log:
        print("  " + line)
    print("effective config:", config)
    sys.stdout.flush()
    return validate(config)


if __name__ == "__main__":
    print("bootstrapping service")
    settings = bootstrap()
    print("never reached", settings)
