"""The space as a ConfigSpace (conditions included) for Ray's TuneBOHB, and its suggestions back as params."""

from __future__ import annotations

import json
from typing import Any

from automl.space.errors import UserInputError
from automl.space.params import Categorical, Condition, Fixed, Float, Int, Param, Repeat, Space


def configspace_from(space: Space, seed: int = 0) -> Any:
    """The space as a ConfigSpace with its conditions: `when:` becomes InCondition, a layer of a repeated group
    exists when the layer count is greater than its index. Fixed values are left out (the trainable's
    `config_from_params` supplies them)."""
    try:
        import ConfigSpace as CS
    except ImportError:
        raise UserInputError(BOHB_MISSING) from None

    cs = CS.ConfigurationSpace(seed=seed)
    hps: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    choices_map: dict[str, dict[str, Any]] = {}

    def make(name: str, p: Param) -> Any:
        d = p.dist
        if isinstance(d, Float):
            return CS.UniformFloatHyperparameter(name, lower=d.low, upper=d.high, log=d.log)
        if isinstance(d, Int):
            return CS.UniformIntegerHyperparameter(name, lower=d.low, upper=d.high, log=d.log)
        assert isinstance(d, Categorical)
        labels = [json.dumps(c) for c in d.choices]  # ConfigSpace wants str/number choices; bools survive as JSON
        choices_map[name] = dict(zip(labels, d.choices, strict=True))
        return CS.CategoricalHyperparameter(name, labels)

    def parent_condition(child: Any, cond: Condition, layer: int | None) -> Any | bool | None:
        path = cond.path.replace("{i}", str(layer)) if layer is not None else cond.path
        if path in fixed:
            return any(fixed[path] == v for v in cond.values)  # static: True (always) / False (never)
        parent = hps.get(path)
        if parent is None:
            return False
        if path in choices_map:
            labels = [lab for lab, v in choices_map[path].items() if any(v == c for c in cond.values)]
            return CS.InCondition(child, parent, labels) if labels else False
        return CS.InCondition(child, parent, list(cond.values))

    def count_condition(hp: Any, rep: Repeat, layer: int) -> Any:
        if isinstance(rep.count, int):
            return layer < rep.count
        if rep.count in fixed:
            return layer < int(fixed[rep.count])
        parent = hps.get(rep.count)
        if parent is None:
            return False
        lo = int(getattr(parent, "lower", min(int(c) for c in choices_map.get(rep.count, {"0": 0}).values())))
        return True if layer < lo else CS.GreaterThanCondition(hp, parent, layer)

    for name, p, rep, layer in space.expanded():
        if isinstance(p.dist, Fixed):
            fixed[name] = p.dist.value
            continue
        hp = make(name, p)
        conds = [] if rep is None else [count_condition(hp, rep, layer)]
        conds += [parent_condition(hp, cond, None if rep is None else layer) for cond in p.when]
        if any(c is False for c in conds):
            continue  # can never be active
        conds = [c for c in conds if c is not True and c is not None]
        cs.add(hp)
        hps[name] = hp
        if conds:
            cs.add(conds[0] if len(conds) == 1 else CS.AndConjunction(*conds))
    cs.automl_choices = choices_map  # type: ignore[attr-defined]
    return cs


BOHB_MISSING = ("--scheduler bohb needs the packages ConfigSpace and hpbandster (Ray's TuneBOHB); install them "
                "with `pip install 'automl[bohb]'` (or `pip install ConfigSpace hpbandster`), or use "
                "--scheduler asha or hyperband.")


class BOHBParams:
    """Turns a TuneBOHB suggestion back into our flat params (JSON labels -> values, numpy -> Python)."""

    def __init__(self, choices: dict[str, dict[str, Any]]) -> None:
        self.choices = choices

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: self.choices[k].get(v, v) if k in self.choices else v.item() if hasattr(v, "item") else v
                for k, v in params.items()}

