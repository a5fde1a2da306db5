"""Plugin methods (checks/methods_<family>.py): one name, one method. Two families registering the same name made
the later one silently answer for the other's claims (both used "flow-map")."""
import pkgutil
import sys
import types

import pytest

from checks import verify as V


def test_every_claim_method_is_registered_once():
    from checks.catalogue import load_claims
    plugins = V._plugins()
    for claim in load_claims():
        for name in claim.methods or ():
            assert name in plugins or name in V.BUILTIN_METHODS, (claim.id, name)


def test_a_second_registration_of_a_name_is_an_error(monkeypatch):
    fake = types.ModuleType("checks.methods_zz_clash")
    fake.METHODS = {"flow-map": lambda *a: None}
    monkeypatch.setitem(sys.modules, "checks.methods_zz_clash", fake)
    real = pkgutil.iter_modules
    monkeypatch.setattr(pkgutil, "iter_modules",
                        lambda path: [*real(path), pkgutil.ModuleInfo(None, "methods_zz_clash", False)])
    monkeypatch.setattr(V, "_PLUGINS", None)
    with pytest.raises(V.VerificationError, match="'flow-map' is registered by both"):
        V._plugins()
    monkeypatch.setattr(V, "_PLUGINS", None)
