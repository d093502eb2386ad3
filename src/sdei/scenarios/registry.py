"""Finding scenarios: the built-in ones by name, a user's by `path/to/file.py::name`.

Built-in scenarios come from `sdei.scenarios.builtin` (if that module exists): each registers
itself, or the module lists them in `SCENARIOS`. A user file defines a module-level `Scenario`
called `name`, or a function of no arguments returning one. Every way loading can fail ends in
one `ScenarioError` whose message names the file (and the line, for a syntax error).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path

from sdei.scenarios.api import Scenario

_REGISTRY: dict[str, Scenario] = {}
_BUILTIN_MODULE = "sdei.scenarios.builtin"


class ScenarioError(Exception):
    """A scenario could not be found or loaded; the message is one line for the user."""


def register(scenario: Scenario) -> Scenario:
    """Add a built-in scenario (a later registration under the same name replaces it)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"register() takes a Scenario, not {type(scenario).__name__}")
    _REGISTRY[scenario.name] = scenario
    return scenario


def _import_builtin() -> None:
    """Import the built-in scenarios: they call `register`, or list themselves in the
    module's `SCENARIOS`."""
    if importlib.util.find_spec(_BUILTIN_MODULE) is None:
        return
    module = importlib.import_module(_BUILTIN_MODULE)
    for scenario in getattr(module, "SCENARIOS", ()):
        if isinstance(scenario, Scenario) and scenario.name not in _REGISTRY:
            register(scenario)


def builtin() -> list[Scenario]:
    """The built-in scenarios, sorted by name."""
    _import_builtin()
    return sorted(_REGISTRY.values(), key=lambda s: s.name)


def get(name: str) -> Scenario:
    """A built-in scenario by name."""
    _import_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none registered yet"
        raise ScenarioError(f"no built-in scenario {name!r} (known: {known})") from None


def is_user_spec(spec: str) -> bool:
    return "::" in spec or spec.endswith(".py")


def resolve(spec: str) -> Scenario:
    """`name` (built in) or `path/to/file.py::name` (a user file)."""
    if is_user_spec(spec):
        return load_user(spec)
    return get(spec)


def _module_name(path: Path) -> str:
    digest = hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    return f"sdei_user_scenario_{path.stem}_{digest}"


def load_user(spec: str) -> Scenario:
    """Load `path/to/file.py::name` (`::name` may be left out when the file defines exactly one
    module-level Scenario)."""
    file_part, sep, name = spec.partition("::")
    path = Path(file_part).expanduser()
    if not sep:
        name = ""
    if not path.suffix == ".py":
        raise ScenarioError(f"{file_part}: a scenario file must be a .py file (FILE.py::NAME)")
    if not path.is_file():
        raise ScenarioError(f"{file_part}: no such scenario file")
    path = path.resolve()
    module_name = _module_name(path)
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ScenarioError(f"{file_part}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as error:
            sys.modules.pop(module_name, None)
            raise ScenarioError(f"{file_part}:{error.lineno}: syntax error: {error.msg}") from None
        except Exception as error:
            sys.modules.pop(module_name, None)
            line = _line_in(path, error)
            where = f"{file_part}:{line}" if line else file_part
            raise ScenarioError(
                f"{where}: failed to import: {type(error).__name__}: {error}"
            ) from None
    if not name:
        found = [v for v in vars(module).values() if isinstance(v, Scenario)]
        if len(found) != 1:
            listed = ", ".join(sorted(v.name for v in found)) or "none"
            raise ScenarioError(
                f"{file_part}: say which scenario with FILE.py::NAME (found: {listed})"
            )
        return found[0]
    if not hasattr(module, name):
        names = sorted(k for k, v in vars(module).items() if isinstance(v, Scenario))
        hint = f" (it defines: {', '.join(names)})" if names else ""
        raise ScenarioError(f"{file_part}: defines no scenario named {name!r}{hint}")
    value = getattr(module, name)
    if isinstance(value, Scenario):
        return value
    if callable(value):
        try:
            made = value()
        except Exception as error:
            line = _line_in(path, error)
            where = f"{file_part}:{line}" if line else file_part
            raise ScenarioError(
                f"{where}: {name}() failed: {type(error).__name__}: {error}"
            ) from None
        if isinstance(made, Scenario):
            return made
        raise ScenarioError(f"{file_part}: {name}() returned {type(made).__name__}, not a Scenario")
    raise ScenarioError(f"{file_part}: {name} is a {type(value).__name__}, not a Scenario")


def _line_in(path: Path, error: BaseException) -> int | None:
    """The last line of `path` in the error's traceback."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    return line
