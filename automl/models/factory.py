"""Your own model: a space's `model:` may name a factory `"module:function"` instead of a built-in family.

    model:
      factory: my_models:build          # build(config, data_spec) -> nn.Module, in my_models.py
      factory_path: .                   # optional: folder to import from (default: the space file's folder)
      width: {low: 32, high: 256, log: true}
      depth: {choices: [1, 2, 3]}

The other keys under `model` are the factory's own hyperparameters, in the usual parameter syntax; the factory
gets the sampled config (`config["model"]` holds them, `config["training"]` the training values) and the
`DataSpec`, and returns an `nn.Module` mapping a batch shaped `(N, *data_spec.input_shape)` to `(N, outputs)`.

Worker processes, Ray trials, finalize, `automl predict` and `automl export` rebuild the model from the factory
string, so it must be importable by name: the run's copy of the space records `factory_path` as an absolute
folder, which is put on `sys.path` before the import. Functions defined in `__main__` (a script, a notebook)
cannot be re-imported and are refused with a clear message.

Import-time torch-free (the validator calls into this module); torch is imported only to build and check.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl.space.errors import UserInputError, fmt
from automl.space.keys import Key

if TYPE_CHECKING:
    from torch import nn

    from automl.data.spec import DataSpec
    from automl.space.params import Section

FACTORY_KEY = "factory"
PATH_KEY = "factory_path"
_SPEC = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
EXPECTED = ('a factory "module:function" whose function build(config, data_spec) returns a torch nn.Module '
            "mapping (N, *data_spec.input_shape) inputs to (N, outputs) logits/values")


class _FreeKey(Key):
    """A factory hyperparameter: any scalar constant or choice (the factory, not the validator, knows its meaning)."""

    def allowed(self) -> str:
        return "a number, string, boolean or null"

    def check(self, v: Any) -> bool:
        if isinstance(v, float):
            return v == v and v not in (float("inf"), float("-inf"))
        return v is None or isinstance(v, (str, int, bool))


def is_factory_model(model: Any) -> bool:
    """A `model:` section (or `config["model"]`) that names a factory rather than a built-in family."""
    return isinstance(model, Mapping) and FACTORY_KEY in model


def _reserved() -> tuple[str, ...]:
    """Keys of the built-in families that make no sense next to a factory (a model is one or the other)."""
    from automl.models.layers import LAYERS

    kinds = [LAYERS.get(k) for k in LAYERS]
    return ("family", *(k.list_key for k in kinds), *(k.count_key for k in kinds))


def _free_key(raw: Any) -> Key:
    """A numeric key for a `{low, high}` range (int when both ends and no `type: float` say so), else free."""
    if isinstance(raw, Mapping) and ("low" in raw or "high" in raw or raw.get("type") in ("int", "float")):
        ends = [raw.get("low"), raw.get("high")]
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in ends)
        kind = raw.get("type") if raw.get("type") in ("int", "float") else "int" if ints else "float"
        return Key(kind)
    return _FreeKey("free")


def _folder(raw_path: Any, base_dir: Path | None) -> str | None:
    if raw_path is None:
        return str(base_dir.resolve()) if base_dir is not None else None
    p = Path(str(raw_path)).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return str(p.resolve())


def factory_model_section(parser: Any, raw: Mapping[str, Any], base_dir: Path | None) -> Section:
    """The validator's `model:` section for the factory form (schema.parse_space calls this): the factory string
    and its folder as fixed values, every other key a free hyperparameter. The factory is imported here so a
    missing module or a wrong signature is reported with the file's other problems (exit 2, nothing runs)."""
    from automl.space.params import Fixed, Param, Section

    reserved = _reserved()
    spec, path = raw.get(FACTORY_KEY), raw.get(PATH_KEY)
    ok = True
    if not isinstance(spec, str) or not _SPEC.fullmatch(spec.strip()):
        parser.err(f"model.{FACTORY_KEY}", f"{fmt(spec)} is not a factory name; expected {EXPECTED}, "
                   'e.g. factory: "my_models:build"')
        ok = False
    if path is not None and not isinstance(path, str):
        parser.err(f"model.{PATH_KEY}", f"{fmt(path)} must be a folder (a string, relative to the space file)")
        ok = False
    for k in raw:
        if k in reserved:
            parser.err(f"model.{k}", f"a built-in family key cannot be combined with model.{FACTORY_KEY}: a model is "
                       "either a built-in family or your own factory; the factory's hyperparameters take any "
                       f"other name (reserved: {', '.join(reserved)})")
    body = {k: v for k, v in raw.items() if k not in (FACTORY_KEY, PATH_KEY, *reserved)}
    section = parser.section("model", body, {k: _free_key(v) for k, v in body.items()})
    if not ok:
        return section
    spec = spec.strip()
    folder = _folder(path, base_dir)
    if path is not None and folder is not None and not Path(folder).is_dir():
        parser.err(f"model.{PATH_KEY}", f"{fmt(path)}: folder {folder} does not exist")
        return section
    try:
        load_factory(spec, folder)
    except UserInputError as e:
        parser.err(f"model.{FACTORY_KEY}", str(e))
    fixed = [Param(FACTORY_KEY, Fixed(spec))] + ([Param(PATH_KEY, Fixed(folder))] if folder else [])
    return Section("model", (*fixed, *section.children))


def pin_factory_path(raw: Mapping[str, Any], base_dir: Path | None) -> Mapping[str, Any]:
    """The space mapping with `model.factory_path` made absolute, for the run directory's copy (which lives
    elsewhere than the original, so a relative or default folder would no longer find the module). Returns
    `raw` itself when there is nothing to pin."""
    model = raw.get("model")
    if not is_factory_model(model) or base_dir is None:
        return raw
    folder = _folder(model.get(PATH_KEY), base_dir)
    if folder is None or model.get(PATH_KEY) == folder:
        return raw
    return {**raw, "model": {**model, PATH_KEY: folder}}


# --- import -------------------------------------------------------------------------------------------------

def load_factory(spec: str, folder: str | None = None) -> Callable[..., Any]:
    """Import `module:function` (from `folder` first, then the Python path); UserInputError saying what failed."""
    what = f"Model factory {spec!r}"
    if not isinstance(spec, str) or not _SPEC.fullmatch(spec):
        raise UserInputError(f"{what} is not a factory name; expected {EXPECTED}.")
    mod_name, _, attr = spec.partition(":")
    where = f"{folder} and the Python path" if folder else "the Python path"
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)  # as `python script.py` puts the script's folder first
    try:
        module = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        if e.name and (mod_name == e.name or mod_name.startswith(e.name + ".")):
            raise UserInputError(f"{what}: module {mod_name!r} is not importable (looked in {where}); expected a "
                                 f"file {mod_name.replace('.', '/')}.py there (set model.{PATH_KEY} to its folder, "
                                 "or put it on PYTHONPATH).") from None
        raise UserInputError(f"{what}: importing {mod_name!r} failed: {type(e).__name__}: {e}.") from None
    except Exception as e:  # the user's module itself raised at import
        raise UserInputError(f"{what}: importing {mod_name!r} raised {type(e).__name__}: {e}.") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            have = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
            raise UserInputError(f"{what}: module {mod_name!r} ({getattr(module, '__file__', '?')}) has no "
                                 f"{attr!r}; its functions: {', '.join(have) or 'none'}.")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserInputError(f"{what} is a {type(obj).__name__}, not a function; expected {EXPECTED}.")
    _check_signature(spec, obj)
    return obj


def _check_signature(spec: str, fn: Callable[..., Any]) -> None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or C callable: the first call will tell
    try:
        sig.bind(None, None)
    except TypeError:
        raise UserInputError(f"Model factory {spec!r} has the signature {getattr(fn, '__name__', 'fn')}{sig}; "
                             "expected one called as build(config, data_spec) (two positional arguments: the "
                             "sampled config dict and the DataSpec).") from None


def factory_spec_of(model: Any) -> tuple[str, str | None]:
    """`automl.search(..., model=...)`: a "module:function" string, or a function importable by its module
    path -> (factory string, the folder its top-level module or package sits in)."""
    if isinstance(model, str):
        return model.strip(), None
    if not callable(model):
        raise UserInputError(f"model= must be a factory function build(config, data_spec) -> nn.Module or a "
                             f'"module:function" string; got {type(model).__name__}.')
    mod, qual = getattr(model, "__module__", None), getattr(model, "__qualname__", None)
    label = f"model={getattr(model, '__name__', model)!r}"
    if not mod or not qual or mod == "__main__" or "<" in qual:
        why = ("is defined in __main__ (a script or notebook)" if mod == "__main__" else
               "is a lambda, a nested function or not a plain function")
        raise UserInputError(f"{label} {why}: worker processes, Ray trials and `automl predict` re-import the "
                             "factory by its module path, so define build(config, data_spec) in a module file "
                             "(e.g. my_models.py next to your script) and import it from there, or pass "
                             'model="my_models:build".')
    spec = f"{mod}:{qual}"
    module = sys.modules.get(mod)
    file = getattr(module, "__file__", None)
    folder = None
    if file:
        p = Path(file).resolve().parent
        for _ in range(mod.count(".") + (Path(file).stem == "__init__")):
            p = p.parent
        folder = str(p)
    if load_factory(spec, folder) is not model:
        raise UserInputError(f"{label}: importing {spec!r} gives another object than the function passed (a "
                             "decorated or rebound name?); pass the module-level function itself or a string.")
    return spec, folder


def apply_model_arg(raw: dict[str, Any], model: Any) -> None:
    """Put `model=` into a space mapping: a built-in family's section is replaced (its keys are not the
    factory's); a factory section keeps its hyperparameters and gets the new factory."""
    spec, folder = factory_spec_of(model)
    section = raw.get("model")
    keep = dict(section) if isinstance(section, Mapping) and "family" not in section else {}
    keep.pop(FACTORY_KEY, None)
    if folder:  # the function's own module folder wins over a folder the space named
        keep[PATH_KEY] = folder
    raw["model"] = {FACTORY_KEY: spec, **keep}


# --- build and check ----------------------------------------------------------------------------------------

def factory_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the factory is given: the sampled config, `model` holding only its own hyperparameters."""
    out = copy.deepcopy(dict(config))
    out["model"] = {k: v for k, v in dict(config.get("model") or {}).items() if k not in (FACTORY_KEY, PATH_KEY)}
    return out


def build_factory_model(config: Mapping[str, Any], data_spec: DataSpec) -> nn.Module:
    """The user's network for a sampled config; an InfeasibleConfig the factory raises passes through (the
    trial is recorded infeasible), a non-module result is a UserInputError naming the factory."""
    from torch import nn

    model = config["model"]
    spec = model[FACTORY_KEY]
    fn = load_factory(spec, model.get(PATH_KEY))
    module = fn(factory_config(config), data_spec)
    if not isinstance(module, nn.Module):
        raise UserInputError(f"Model factory {spec!r} returned {type(module).__name__} "
                             f"({fmt(module)}), not a torch nn.Module; expected {EXPECTED}.")
    return module


def expected_outputs(data_spec: DataSpec) -> int:
    from automl.models.plan import head_outputs

    return head_outputs(data_spec)


def check_factory(config: Mapping[str, Any], data_spec: DataSpec) -> bool:
    """Build the factory's model for one sampled config and run a batch of 2 through it: it must be a module
    with trainable parameters whose output is (2, outputs) for the task. False when the factory raised
    InfeasibleConfig for this config (try another); UserInputError for every other problem."""
    import torch

    from automl.models.plan import InfeasibleConfig
    from automl.models.summary import dummy_input

    spec = config["model"][FACTORY_KEY]
    try:
        module = build_factory_model(config, data_spec)
    except (UserInputError, InfeasibleConfig):
        raise
    except Exception as e:
        raise UserInputError(f"Model factory {spec!r} raised {type(e).__name__}: {e} when called with a sampled "
                             f"config (model: {fmt(factory_config(config)['model'])}); expected {EXPECTED}.") from None
    if not any(p.requires_grad for p in module.parameters()):
        raise UserInputError(f"Model factory {spec!r} returned a {type(module).__name__} with no trainable "
                             "parameters; there is nothing to train.")
    n_out = expected_outputs(data_spec)
    want = (2, n_out)
    x = dummy_input(data_spec, 2)
    module.eval()
    try:
        with torch.no_grad():
            out = module(x)
    except Exception as e:
        raise UserInputError(f"Model factory {spec!r}: its {type(module).__name__} fails on a batch shaped "
                             f"{tuple(x.shape)} (N, *data_spec.input_shape): {type(e).__name__}: {e}.") from None
    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if got != want:
        task = f"{data_spec.task} task with {n_out} output{'s' if n_out != 1 else ''}"
        raise UserInputError(f"Model factory {spec!r}: its {type(module).__name__} maps a batch shaped "
                             f"{tuple(x.shape)} to {got}; a {task} ({data_spec.name}) expects a tensor shaped "
                             f"{want}, i.e. (N, {n_out}).")
    return True


def check_space_factory(space: Any, data_spec: DataSpec, n: int = 20, seed: int = 0) -> bool:
    """At search start: False for a built-in family; for a factory, a model built from a sampled config must
    pass `check_factory` (the configs the factory declares infeasible are skipped), else UserInputError."""
    from automl.space import RandomSuggest, sample

    rng = RandomSuggest(seed)
    config = sample(space.space, rng).config
    if not is_factory_model(config.get("model")):
        return False
    from automl.models.plan import InfeasibleConfig

    reasons = []
    for i in range(n):
        if i:
            config = sample(space.space, rng).config
        try:
            if check_factory(config, data_spec):
                return True
        except InfeasibleConfig as e:
            reasons.append(str(e))
        except UserInputError as e:
            raise UserInputError(f"Search space {space.source}: model.{FACTORY_KEY}: {e}") from None
    raise UserInputError(f"Search space {space.source}: model factory {config['model'][FACTORY_KEY]!r} declared "
                         f"all {n} sampled configs infeasible (e.g. {reasons[0]}); widen its hyperparameter ranges.")
