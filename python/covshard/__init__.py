"""covshard's Python entry: the wheel installs the `covshard` binary into the scripts directory.

Nothing is imported from here at run time; this package only lets `python -m covshard` and
other Python code find the binary that pip, uv or pipx put beside the interpreter.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig

__all__ = ["find_covshard_bin"]


def find_covshard_bin() -> str:
    """Return the path of the installed `covshard` binary, or raise FileNotFoundError."""
    name = "covshard" + (sysconfig.get_config_var("EXE") or "")
    candidates = [sysconfig.get_path("scripts")]
    # `pip install --user` puts scripts under the user scheme of this interpreter.
    user_scheme = _user_scheme()
    if user_scheme is not None:
        candidates.append(sysconfig.get_path("scripts", scheme=user_scheme))
    # `pip install --target DIR` puts them in DIR/bin, beside the package directory.
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(package_parent, "bin"))
    for directory in candidates:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    found = shutil.which(name)
    if found is not None:
        return found
    raise FileNotFoundError(
        f"covshard: the `{name}` binary is not installed beside this Python "
        f"({sys.executable}); reinstall with `pip install --force-reinstall covshard`"
    )


def _user_scheme() -> str | None:
    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    framework = sys.platform == "darwin" and getattr(sys, "_framework", "")
    return "osx_framework_user" if framework else "posix_user"
