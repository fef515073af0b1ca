"""Tests for automl.models: layers, activations, initialisers, heads, feasibility, summary."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from automl.data.spec import DataSpec
from automl.models import (
    ACTIVATIONS,
    INITIALIZERS,
    InfeasibleConfig,
    ModelConfig,
    ModelSummary,
    build_model,
    check_feasible,
    count_params,
    make_activation,
    model_summary,
)
from automl.models.blocks import Crop, GlobalPool, Residual, TokenEmbedding

FLAT = DataSpec("flat", "binary", "flat", (10,), n_classes=2, n_outputs=1)
IMAGE = DataSpec("img", "multiclass", "image", (3, 8, 8), n_classes=5, n_outputs=5)
SEQ = DataSpec("seq", "regression", "sequence", (2, 16), n_outputs=3)
TOKENS = DataSpec("tok", "multiclass", "tokens", (12,), n_classes=4, n_outputs=4, vocab_size=20)
SPECS = {"flat": FLAT, "image": IMAGE, "sequence": SEQ, "tokens": TOKENS}


@pytest.fixture(autouse=True)
def _torch_setup():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def batch(spec: DataSpec, n: int = 4) -> torch.Tensor:
    if spec.input_kind == "tokens":
        return torch.randint(0, spec.vocab_size, (n, *spec.input_shape))
    return torch.randn(n, *spec.input_shape)


def cnn(*blocks: dict, dense: list[dict] | None = None, **extra) -> dict:
    model = {"family": "cnn", "n_conv_blocks": len(blocks), "conv_blocks": list(blocks)}
    if dense is not None:
        model["n_dense_blocks"] = len(dense)
        model["dense_blocks"] = dense
    model.update(extra)
    return {"model": model}


def mlp(*dense: dict, **extra) -> dict:
    return {"model": {"family": "mlp", "n_dense_blocks": len(dense), "dense_blocks": list(dense), **extra}}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def of_type(model: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in model.modules() if type(m) is kind]


# --------------------------------------------------------------------------- defaults and config resolution


def test_empty_config_is_default_mlp():
    model = build_model({}, FLAT)
    linears = of_type(model, nn.Linear)
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 64), (64, 1)]
    assert len(of_type(model, nn.ReLU)) == 1
    assert (
        not of_type(model, nn.Conv1d)
        and not of_type(model, nn.Dropout)
        and not of_type(model, nn.BatchNorm1d)
    )
    assert model(batch(FLAT)).shape == (4, 1)


def test_missing_and_none_keys_take_defaults():
    cfg = ModelConfig.from_config(
        {
            "model": {
                "family": "cnn",
                "n_conv_blocks": 2,
                "conv_blocks": [{"filters": 8, "pool": None}],
                "dense_blocks": [{}],
                "init": None,
            }
        }
    )
    assert len(cfg.conv_blocks) == 2  # padded with a default block
    assert cfg.conv_blocks[0].filters == 8 and cfg.conv_blocks[0].pool == "none"
    d = cfg.conv_blocks[1]
    assert (d.filters, d.kernel_size, d.stride, d.padding, d.activation) == (32, 3, 1, "same", "relu")
    assert (d.pool, d.pool_size, d.batch_norm, d.dropout, d.residual) == ("none", 2, False, 0.0, False)
    assert cfg.global_pool == "flatten" and cfg.init == "default" and cfg.embedding_dim == 16
    assert (cfg.init_std, cfg.init_range, cfg.bias_init, cfg.max_params) == (0.05, 0.05, 0.0, 50_000_000)
    assert cfg.dense_blocks[0].units == 64


def test_block_lists_truncated_to_n_and_mlp_ignores_conv_blocks():
    cfg = ModelConfig.from_config(cnn({"filters": 4}, {"filters": 5}, {"filters": 6}))
    assert [b.filters for b in cfg.conv_blocks] == [4, 5, 6]
    cfg = ModelConfig.from_config(
        {"model": {"family": "cnn", "n_conv_blocks": 1, "conv_blocks": [{"filters": 4}, {"filters": 5}]}}
    )
    assert [b.filters for b in cfg.conv_blocks] == [4]
    cfg = ModelConfig.from_config({"model": {"family": "mlp", "n_conv_blocks": 2, "conv_blocks": [{}, {}]}})
    assert cfg.conv_blocks == ()
    cfg = ModelConfig.from_config({"model": {"n_dense_blocks": 0, "dense_blocks": [{"units": 3}]}})
    assert cfg.dense_blocks == ()
    assert ModelConfig.from_config({"model": {"dense_blocks": [{"units": 7.0}]}}).dense_blocks[0].units == 7


@pytest.mark.parametrize(
    "model",
    [
        {"family": "rnn"},
        {"init": "zeros"},
        {"dense_blocks": [{"activation": "swishy"}]},
        {"dense_blocks": [{"dropout": 1.0}]},
        {"dense_blocks": [{"units": 0}]},
        {"dense_blocks": [{"units": 2.5}]},
        {"dense_blocks": [{"batch_norm": "yes"}]},
        {"family": "cnn", "conv_blocks": [{"padding": "full"}]},
        {"family": "cnn", "conv_blocks": [{"pool": "min"}]},
        {"family": "cnn", "conv_blocks": [{"kernel_size": 0}]},
        {"family": "cnn", "global_pool": "sum"},
        {"init": "normal", "init_std": 0.0},
    ],
)
def test_invalid_values_raise_value_error(model):
    with pytest.raises(ValueError):
        check_feasible({"model": model}, FLAT)
    with pytest.raises(ValueError):
        build_model({"model": model}, FLAT)


# --------------------------------------------------------------------------- layer kinds


def test_conv1d_on_sequence():
    model = build_model(
        cnn({"filters": 6, "kernel_size": 5}, {"filters": 4, "kernel_size": 3, "padding": "valid"}), SEQ
    )
    convs = of_type(model, nn.Conv1d)
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [(2, 6, 5), (6, 4, 3)]
    out, feats = model(batch(SEQ), return_features=True)
    assert out.shape == (4, 3)
    assert model.body.dense1[0].in_features == 4 * 14  # same keeps 16, valid k=3 -> 14
    assert feats.shape == (4, 64)


def test_even_kernel_same_padding_keeps_length():
    for spec, fn in ((SEQ, F.conv1d), (IMAGE, F.conv2d)):
        model = build_model(
            cnn({"filters": 3, "kernel_size": 4, "activation": "identity"}, global_pool="avg"), spec
        )
        block = model.body.conv1
        x = batch(spec)
        assert block(x).shape == (4, 3, *spec.input_shape[1:])
        with warnings.catch_warnings():  # PyTorch's own "same" for even kernels warns about a padded copy
            warnings.simplefilter("ignore")
            expected = fn(x, block.conv.weight, block.conv.bias, padding="same")
        torch.testing.assert_close(block(x), expected)


def test_conv2d_on_image_with_stride_valid():
    cfg = cnn(
        {"filters": 7, "kernel_size": 3}, {"filters": 5, "kernel_size": 3, "stride": 2, "padding": "valid"}
    )
    model = build_model(cfg, IMAGE)
    convs = of_type(model, nn.Conv2d)
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(3, 7, (1, 1)), (7, 5, (2, 2))]
    x = batch(IMAGE)
    h = model.body.conv2(model.body.conv1(x))
    assert h.shape == (4, 5, 3, 3)  # (8 - 3) // 2 + 1
    assert model(x).shape == (4, 5)


def test_flat_input_cnn_is_a_one_channel_signal():
    model = build_model(cnn({"filters": 3, "kernel_size": 3}), FLAT)
    conv = of_type(model, nn.Conv1d)[0]
    assert conv.in_channels == 1
    assert isinstance(model.body.unflatten, nn.Unflatten)
    assert model(batch(FLAT)).shape == (4, 1)
    assert model.body.dense1[0].in_features == 3 * 10


def test_tokens_embedding_then_conv1d():
    cfg = cnn({"filters": 5, "kernel_size": 3}, embedding_dim=6, global_pool="max")
    model = build_model(cfg, TOKENS)
    emb = model.body.embed
    assert isinstance(emb, TokenEmbedding)
    assert emb.embedding.num_embeddings == 20 and emb.embedding.embedding_dim == 6
    assert emb.embedding.padding_idx == 0
    assert torch.all(emb.embedding.weight[0] == 0)
    x = batch(TOKENS)
    assert emb(x).shape == (4, 6, 12)  # channels first for conv1d
    torch.testing.assert_close(emb(x), emb.embedding(x).transpose(1, 2))
    assert of_type(model, nn.Conv1d)[0].in_channels == 6
    assert model(x).shape == (4, 4)


def test_tokens_mlp_embeds_then_flattens():
    model = build_model(mlp({"units": 8}, embedding_dim=3), TOKENS)
    assert isinstance(model.body.embed, nn.Embedding) and model.body.embed.padding_idx == 0
    assert model.body.dense1[0].in_features == 12 * 3
    assert model(batch(TOKENS)).shape == (4, 4)


def test_mlp_on_image_flattens():
    model = build_model(mlp({"units": 8}, {"units": 6}), IMAGE)
    assert not of_type(model, nn.Conv2d)
    assert [m.in_features for m in of_type(model, nn.Linear)] == [3 * 8 * 8, 8, 6]
    assert model(batch(IMAGE)).shape == (4, 5)


@pytest.mark.parametrize("pool,fn", [("max", F.max_pool1d), ("avg", F.avg_pool1d)])
def test_block_pooling_1d(pool, fn):
    model = build_model(cnn({"filters": 3, "pool": pool, "pool_size": 3, "activation": "identity"}), SEQ)
    block = model.body.conv1
    expected_type = nn.MaxPool1d if pool == "max" else nn.AvgPool1d
    assert isinstance(block.pool, expected_type) and block.pool.kernel_size in (3, (3,))
    x = batch(SEQ)
    out = block(x)
    assert out.shape == (4, 3, 5)  # 16 // 3
    torch.testing.assert_close(out, fn(block.conv(x), 3))


@pytest.mark.parametrize("pool,cls", [("max", nn.MaxPool2d), ("avg", nn.AvgPool2d)])
def test_block_pooling_2d(pool, cls):
    model = build_model(cnn({"filters": 3, "pool": pool, "pool_size": 2}), IMAGE)
    assert isinstance(model.body.conv1.pool, cls)
    assert model.body.conv1(batch(IMAGE)).shape == (4, 3, 4, 4)


@pytest.mark.parametrize("mode", ["flatten", "avg", "max"])
def test_global_pool(mode):
    cfg = cnn({"filters": 3, "activation": "identity"}, global_pool=mode, n_dense_blocks=0)
    model = build_model(cfg, IMAGE)
    x = batch(IMAGE)
    conv_out = model.body.conv1(x)
    _, feats = model(x, return_features=True)
    if mode == "flatten":
        expected = conv_out.flatten(1)
    elif mode == "avg":
        assert isinstance(model.body.global_pool, GlobalPool)
        expected = conv_out.mean(dim=(2, 3))
    else:
        expected = conv_out.amax(dim=(2, 3))
    torch.testing.assert_close(feats, expected)
    assert model.head.in_features == expected.shape[1]


def test_batch_norm_conv_and_dense():
    cfg = cnn(
        {"filters": 4, "batch_norm": True, "activation": "identity"},
        dense=[{"units": 6, "batch_norm": True, "activation": "identity"}],
    )
    model = build_model(cfg, SEQ)
    assert isinstance(model.body.conv1.bn, nn.BatchNorm1d) and model.body.conv1.bn.num_features == 4
    assert model.body.conv1.conv.bias is None  # BN makes the bias redundant
    assert isinstance(model.body.dense1.bn, nn.BatchNorm1d) and model.body.dense1.linear.bias is None
    model.train()
    _, feats = model(batch(SEQ, 64), return_features=True)
    torch.testing.assert_close(feats.mean(0), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(feats.var(0, unbiased=False), torch.ones(6), atol=1e-3, rtol=0)
    img = build_model(cnn({"filters": 4, "batch_norm": True}), IMAGE)
    assert isinstance(img.body.conv1.bn, nn.BatchNorm2d)


def test_dropout_conv_and_dense():
    cfg = cnn(
        {"filters": 4, "dropout": 0.3}, dense=[{"units": 256, "dropout": 0.5, "activation": "identity"}]
    )
    model = build_model(cfg, SEQ)
    assert model.body.conv1.dropout.p == 0.3
    assert model.body.dense1.dropout.p == 0.5
    x = batch(SEQ, 16)
    model.eval()
    a, b = model(x, return_features=True)[1], model(x, return_features=True)[1]
    torch.testing.assert_close(a, b)
    model.train()
    feats = model(x, return_features=True)[1]
    frac_zero = (feats == 0).float().mean().item()
    assert 0.4 < frac_zero < 0.6
    assert not of_type(build_model(cnn({"filters": 4}), SEQ), nn.Dropout)


# --------------------------------------------------------------------------- residual connections


def _zero_main(block: nn.Module) -> None:
    with torch.no_grad():
        for m in block.res.main.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.zero_()


def test_conv_residual_identity_shortcut():
    model = build_model(cnn({"filters": 2, "kernel_size": 3, "residual": True}), SEQ)  # 2 -> 2 channels, same
    block = model.body.conv1
    assert isinstance(block.res, Residual) and isinstance(block.res.shortcut, nn.Identity)
    x = batch(SEQ)
    torch.testing.assert_close(block(x), block.res.main(x) + x)
    _zero_main(block)
    torch.testing.assert_close(block(x), x)  # relu(0) + x
    plain = build_model(cnn({"filters": 2, "kernel_size": 3}), SEQ).body.conv1
    with torch.no_grad():
        plain.conv.weight.zero_()
        plain.conv.bias.zero_()
    assert torch.all(plain(x) == 0)


def test_conv_residual_projection_on_channel_change_then_pool():
    model = build_model(cnn({"filters": 5, "residual": True, "pool": "max", "pool_size": 2}), SEQ)
    block = model.body.conv1
    sc = block.res.shortcut
    assert (
        isinstance(sc, nn.Conv1d) and sc.kernel_size == (1,) and (sc.in_channels, sc.out_channels) == (2, 5)
    )
    assert sc.bias is None
    x = batch(SEQ)
    expected = F.max_pool1d(block.res.main(x) + sc(x), 2)  # add before pool
    torch.testing.assert_close(block(x), expected)


def test_conv_residual_valid_padding_crops_and_stride_projects():
    cfg = cnn({"filters": 2, "kernel_size": 5, "padding": "valid", "residual": True})
    block = build_model(cfg, SEQ).body.conv1
    assert isinstance(block.res.shortcut, Crop)
    x = batch(SEQ)
    _zero_main(block)
    torch.testing.assert_close(block(x), x[:, :, 2:14])  # centred crop of 4 = kernel_size - 1

    cfg = cnn({"filters": 2, "kernel_size": 4, "stride": 3, "padding": "valid", "residual": True})
    block = build_model(cfg, SEQ).body.conv1
    crop, proj = block.res.shortcut
    assert isinstance(crop, Crop) and proj.stride == (3,)
    out = block(x)
    assert out.shape == (4, 2, 5)  # (16 - 4) // 3 + 1
    _zero_main(block)
    torch.testing.assert_close(block(x), F.conv1d(x[:, :, 1:14], proj.weight, stride=3))


def test_conv2d_residual_valid_stride():
    cfg = cnn(
        {"filters": 4, "kernel_size": 3, "stride": 2, "padding": "valid", "residual": True, "pool": "avg"}
    )
    model = build_model(cfg, IMAGE)
    block = model.body.conv1
    x = batch(IMAGE)
    assert block(x).shape == (4, 4, 1, 1)  # conv: (8-3)//2+1 = 3, pool 2 -> 1
    _zero_main(block)
    _crop, proj = block.res.shortcut
    expected = F.avg_pool2d(F.conv2d(x[:, :, 1:7, 1:7], proj.weight, stride=2), 2)
    torch.testing.assert_close(block(x), expected)


def test_dense_residual_identity_and_projection():
    model = build_model(mlp({"units": 10, "residual": True}, {"units": 7, "residual": True}), FLAT)
    d1, d2 = model.body.dense1, model.body.dense2
    assert isinstance(d1.res.shortcut, nn.Identity)  # 10 -> 10
    assert isinstance(d2.res.shortcut, nn.Linear) and d2.res.shortcut.bias is None
    assert (d2.res.shortcut.in_features, d2.res.shortcut.out_features) == (10, 7)
    x = batch(FLAT)
    _zero_main(d1)
    torch.testing.assert_close(d1(x), x)
    h = d1(x)
    torch.testing.assert_close(d2(h), d2.res.main(h) + d2.res.shortcut(h))


# --------------------------------------------------------------------------- activations

_FUNCTIONAL = {
    "relu": (nn.ReLU, F.relu),
    "leaky_relu": (nn.LeakyReLU, lambda x: F.leaky_relu(x, 0.01)),
    "elu": (nn.ELU, F.elu),
    "gelu": (nn.GELU, F.gelu),
    "selu": (nn.SELU, F.selu),
    "silu": (nn.SiLU, F.silu),
    "tanh": (nn.Tanh, torch.tanh),
    "sigmoid": (nn.Sigmoid, torch.sigmoid),
    "mish": (nn.Mish, F.mish),
    "softplus": (nn.Softplus, F.softplus),
    "identity": (nn.Identity, lambda x: x),
}


def test_activation_names_exported():
    assert set(ACTIVATIONS) == set(_FUNCTIONAL)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_module_matches_functional(name):
    cls, fn = _FUNCTIONAL[name]
    act = make_activation(name)
    assert type(act) is cls
    x = torch.linspace(-4, 4, 101)
    torch.testing.assert_close(act(x), fn(x))
    model = build_model(mlp({"units": 5, "activation": name}), FLAT)
    block = model.body.dense1
    if name == "identity":
        assert not hasattr(block, "act")
    else:
        assert type(block.act) is cls
    x = batch(FLAT)
    _, feats = model(x, return_features=True)
    torch.testing.assert_close(feats, fn(block.linear(x)))


def test_activation_aliases_and_case():
    assert type(make_activation("Swish")) is nn.SiLU
    assert type(make_activation("LINEAR")) is nn.Identity
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swishy")


# --------------------------------------------------------------------------- initialisers

FAN = 512
REG = DataSpec("reg", "regression", "flat", (FAN,), n_outputs=64)


def _init_model(init: str, activation: str = "relu", **extra) -> nn.Module:
    return build_model(mlp({"units": FAN, "activation": activation}, init=init, **extra), REG)


def test_initializer_names_exported():
    assert set(INITIALIZERS) == {
        "default",
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_normal",
        "lecun_uniform",
        "orthogonal",
        "normal",
        "uniform",
    }


# (init, activation, expected std, uniform bound or None)
_GAIN_TANH = 5.0 / 3.0
_GAIN_LEAKY = math.sqrt(2.0 / (1 + 0.01**2))
_STATS = [
    ("glorot_uniform", "relu", math.sqrt(2 / (2 * FAN)), math.sqrt(6 / (2 * FAN))),
    ("glorot_normal", "relu", math.sqrt(2 / (2 * FAN)), None),
    ("xavier_uniform", "relu", math.sqrt(2 / (2 * FAN)), math.sqrt(6 / (2 * FAN))),
    ("xavier_normal", "tanh", math.sqrt(2 / (2 * FAN)), None),
    ("he_uniform", "relu", math.sqrt(2 / FAN), math.sqrt(6 / FAN)),
    ("he_normal", "relu", math.sqrt(2 / FAN), None),
    ("kaiming_normal", "relu", math.sqrt(2 / FAN), None),
    ("kaiming_uniform", "relu", math.sqrt(2 / FAN), math.sqrt(6 / FAN)),
    ("he_normal", "tanh", _GAIN_TANH / math.sqrt(FAN), None),
    ("he_uniform", "tanh", _GAIN_TANH / math.sqrt(FAN), _GAIN_TANH * math.sqrt(3 / FAN)),
    ("he_normal", "leaky_relu", _GAIN_LEAKY / math.sqrt(FAN), None),
    ("he_normal", "selu", 0.75 / math.sqrt(FAN), None),
    ("he_normal", "sigmoid", 1 / math.sqrt(FAN), None),
    ("he_normal", "gelu", math.sqrt(2 / FAN), None),  # smooth rectifiers use relu's gain
    ("lecun_normal", "relu", 1 / math.sqrt(FAN), None),
    ("lecun_uniform", "relu", 1 / math.sqrt(FAN), math.sqrt(3 / FAN)),
    ("normal", "relu", 0.05, None),
    ("uniform", "relu", 0.05 / math.sqrt(3), 0.05),
    ("default", "relu", 1 / math.sqrt(3 * FAN), 1 / math.sqrt(FAN)),  # PyTorch: kaiming_uniform(a=sqrt(5))
]


@pytest.mark.parametrize("init,activation,std,bound", _STATS)
def test_initializer_weight_distribution(init, activation, std, bound):
    model = _init_model(init, activation)
    w = model.body.dense1.linear.weight.detach()
    assert w.shape == (FAN, FAN)
    assert abs(w.mean().item()) < 0.05 * std
    assert w.std().item() == pytest.approx(std, rel=0.05)
    if bound is None:
        assert w.abs().max().item() > 3.5 * std  # Gaussian tails, not a uniform box
    else:
        assert w.abs().max().item() <= bound + 1e-7
        assert w.abs().max().item() > 0.99 * bound


def test_normal_and_uniform_use_their_parameters():
    w = _init_model("normal", init_std=0.2).body.dense1.linear.weight.detach()
    assert w.std().item() == pytest.approx(0.2, rel=0.02)
    w = _init_model("uniform", init_range=0.3).body.dense1.linear.weight.detach()
    assert w.abs().max().item() <= 0.3 and w.abs().max().item() > 0.299
    assert w.std().item() == pytest.approx(0.3 / math.sqrt(3), rel=0.02)


def test_orthogonal_init():
    w = _init_model("orthogonal").body.dense1.linear.weight.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(FAN), atol=1e-4, rtol=0)
    head = _init_model("orthogonal").head.weight.detach()  # 64 x 512: orthonormal rows
    torch.testing.assert_close(head @ head.T, torch.eye(64), atol=1e-4, rtol=0)


def test_he_normal_head_and_projection_use_linear_gain():
    head = _init_model("he_normal").head.weight.detach()  # 64 x 512, no activation after it
    assert head.std().item() == pytest.approx(1 / math.sqrt(FAN), rel=0.05)
    spec = DataSpec("r", "regression", "flat", (FAN,), n_outputs=1)
    model = build_model(mlp({"units": 256, "residual": True}, init="he_normal"), spec)
    proj = model.body.dense1.res.shortcut.weight.detach()
    assert proj.std().item() == pytest.approx(1 / math.sqrt(FAN), rel=0.05)
    main = model.body.dense1.res.main.linear.weight.detach()
    assert main.std().item() == pytest.approx(math.sqrt(2 / FAN), rel=0.05)


def test_he_normal_conv_uses_fan_in_of_kernel():
    spec = DataSpec("s", "regression", "sequence", (64, 8), n_outputs=1)
    model = build_model(cnn({"filters": 256, "kernel_size": 5}, init="he_normal", global_pool="avg"), spec)
    w = of_type(model, nn.Conv1d)[0].weight.detach()
    assert w.std().item() == pytest.approx(math.sqrt(2 / (64 * 5)), rel=0.05)


def test_aliases_give_identical_weights():
    torch.manual_seed(1)
    a = _init_model("xavier_uniform").body.dense1.linear.weight
    torch.manual_seed(1)
    b = _init_model("glorot_uniform").body.dense1.linear.weight
    assert torch.equal(a, b)


def test_embedding_and_bn_not_touched_by_init():
    cfg = cnn(
        {"filters": 4, "batch_norm": True},
        init="uniform",
        init_range=0.01,
        embedding_dim=64,
        global_pool="avg",
    )
    spec = DataSpec("t", "binary", "tokens", (5,), n_classes=2, vocab_size=1000)
    model = build_model(cfg, spec)
    emb = model.body.embed.embedding.weight.detach()
    assert emb[1:].std().item() == pytest.approx(1.0, rel=0.05)  # PyTorch's N(0, 1)
    assert torch.all(emb[0] == 0)
    bn = model.body.conv1.bn
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


@pytest.mark.parametrize("init", ["default", "he_normal", "uniform"])
def test_bias_init(init):
    cfg = cnn(
        {"filters": 4}, {"filters": 4, "batch_norm": True}, dense=[{"units": 8}], init=init, bias_init=0.1
    )
    model = build_model(cfg, SEQ)
    biases = [m.bias for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear)) and m.bias is not None]
    assert len(biases) == 3  # conv1, dense1, head (conv2 has BN and no bias)
    for b in biases:
        assert torch.all(b == 0.1)
    assert torch.all(model.body.conv2.bn.bias == 0)
    model0 = build_model(cnn({"filters": 4}, init=init), SEQ)
    assert torch.all(model0.body.conv1.conv.bias == 0)  # bias_init defaults to 0.0


# --------------------------------------------------------------------------- heads and features


@pytest.mark.parametrize(
    "spec,width",
    [
        (FLAT, 1),
        (IMAGE, 5),
        (SEQ, 3),
        (TOKENS, 4),
        (DataSpec("r1", "regression", "flat", (4,), n_outputs=1), 1),
    ],
)
@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_heads(spec, width, family):
    cfg = cnn({"filters": 3}) if family == "cnn" else mlp({"units": 8})
    model = build_model(cfg, spec)
    assert model.head.out_features == width
    assert model(batch(spec, 3)).shape == (3, width)


def test_return_features_is_head_input():
    model = build_model(mlp({"units": 9}, {"units": 7, "activation": "tanh"}), IMAGE)
    x = batch(IMAGE)
    out, feats = model(x, return_features=True)
    assert feats.shape == (4, 7)
    torch.testing.assert_close(model.head(feats), out)
    torch.testing.assert_close(model(x), out)
    assert torch.all(feats.abs() <= 1)  # tanh output, i.e. activations after the last dense block
    no_dense = build_model({"model": {"n_dense_blocks": 0}}, IMAGE)
    _, feats = no_dense(x, return_features=True)
    torch.testing.assert_close(feats, x.flatten(1))


def test_features_are_differentiable_for_activity_penalty():
    model = build_model(mlp({"units": 6}), FLAT)
    out, feats = model(batch(FLAT), return_features=True)
    (out.sum() + feats.abs().sum()).backward()
    assert model.body.dense1.linear.weight.grad is not None


# --------------------------------------------------------------------------- feasibility


def test_too_much_pooling_is_infeasible():
    spec = DataSpec("s", "binary", "sequence", (1, 8), n_classes=2)
    blocks = [{"filters": 4, "pool": "max", "pool_size": 2}] * 4  # 8 -> 4 -> 2 -> 1 -> pool fails
    reason = check_feasible(cnn(*blocks), spec)
    assert reason is not None
    assert reason.startswith("conv block 4:") and "pool_size 2" in reason and "length 1" in reason
    with pytest.raises(InfeasibleConfig) as exc:
        build_model(cnn(*blocks), spec)
    assert exc.value.reason == reason and str(exc.value) == reason
    assert isinstance(exc.value, ValueError)
    assert check_feasible(cnn(*blocks[:3]), spec) is None


def test_kernel_larger_than_input_after_pooling():
    spec = DataSpec("s", "binary", "sequence", (1, 40), n_classes=2)
    cfg = cnn(
        {"filters": 4, "pool": "max", "pool_size": 4},
        {"filters": 4, "pool": "avg", "pool_size": 5},
        {"filters": 4, "kernel_size": 5, "padding": "valid"},
    )
    reason = check_feasible(cfg, spec)
    assert reason is not None
    assert reason.startswith("conv block 3: input length 2 is smaller than kernel_size 5")
    with pytest.raises(InfeasibleConfig, match="conv block 3"):
        build_model(cfg, spec)


def test_kernel_larger_than_image():
    cfg = cnn({"filters": 4, "kernel_size": 9, "padding": "valid"})
    reason = check_feasible(cfg, IMAGE)
    assert reason == "conv block 1: input size 8x8 is smaller than kernel_size 9"
    assert check_feasible(cnn({"filters": 4, "kernel_size": 9, "padding": "same"}), IMAGE) is None


def test_same_padding_with_stride_is_infeasible():
    cfg = cnn({"filters": 4}, {"filters": 4, "stride": 2, "padding": "same"})
    reason = check_feasible(cfg, SEQ)
    assert reason is not None and reason.startswith("conv block 2") and "requires stride 1" in reason
    with pytest.raises(InfeasibleConfig, match="requires stride 1"):
        build_model(cfg, SEQ)
    assert check_feasible(cnn({"filters": 4}, {"filters": 4, "stride": 2, "padding": "valid"}), SEQ) is None


def test_param_cap():
    cfg = mlp({"units": 1000}, max_params=1_000_000)
    spec = DataSpec("f", "binary", "flat", (2000,), n_classes=2)
    n = 2000 * 1000 + 1000 + 1000 + 1
    assert count_params(cfg, spec) == n
    assert check_feasible(cfg, spec) == f"{n:,} parameters exceed max_params 1,000,000"
    with pytest.raises(InfeasibleConfig, match="exceed max_params"):
        build_model(cfg, spec)
    cfg["model"]["max_params"] = n
    assert check_feasible(cfg, spec) is None
    assert n_params(build_model(cfg, spec)) == n


def test_default_param_cap_and_check_is_analytic():
    huge = mlp({"units": 100_000}, {"units": 100_000})  # 10^10 parameters: building would need 40 GB
    t0 = time.perf_counter()
    reason = check_feasible(huge, FLAT)
    assert time.perf_counter() - t0 < 0.5
    assert reason is not None and "exceed max_params 50,000,000" in reason


# A random small config: feasibility, param count, summary and forward must all agree with the built model.
_conv_block = st.fixed_dictionaries(
    {},
    optional={
        "filters": st.integers(1, 6),
        "kernel_size": st.integers(1, 6),
        "stride": st.integers(1, 3),
        "padding": st.sampled_from(["same", "valid"]),
        "activation": st.sampled_from(ACTIVATIONS.names()),
        "pool": st.sampled_from(["none", "max", "avg"]),
        "pool_size": st.integers(1, 4),
        "batch_norm": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.2]),
        "residual": st.booleans(),
    },
)
_dense_block = st.fixed_dictionaries(
    {},
    optional={
        "units": st.integers(1, 12),
        "activation": st.sampled_from(ACTIVATIONS.names()),
        "batch_norm": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.3]),
        "residual": st.booleans(),
    },
)
_model = st.fixed_dictionaries(
    {
        "family": st.sampled_from(["mlp", "cnn"]),
        "conv_blocks": st.lists(_conv_block, max_size=3),
        "dense_blocks": st.lists(_dense_block, max_size=2),
    },
    optional={
        "embedding_dim": st.integers(1, 5),
        "global_pool": st.sampled_from(["flatten", "avg", "max"]),
        "init": st.sampled_from(INITIALIZERS.names()),
        "bias_init": st.sampled_from([0.0, 0.5]),
        "max_params": st.sampled_from([None, 200, 100_000]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=_model, kind=st.sampled_from(sorted(SPECS)))
def test_random_configs_are_consistent(model, kind):
    spec = SPECS[kind]
    config = {"model": model}
    reason = check_feasible(config, spec)
    if reason is not None:
        assert isinstance(reason, str) and reason
        with pytest.raises(InfeasibleConfig):
            build_model(config, spec)
        return
    net = build_model(config, spec)
    assert n_params(net) == count_params(config, spec)
    net.train()
    out, feats = net(batch(spec, 3), return_features=True)
    assert out.shape == (3, net.head.out_features) and feats.shape == (3, net.head.in_features)
    summary = model_summary(net, spec)
    assert summary.total_params == n_params(net) == sum(r.params for r in summary.rows)
    assert summary.output_shape == (net.head.out_features,)


# --------------------------------------------------------------------------- summary


def test_model_summary():
    cfg = cnn(
        {"filters": 4, "batch_norm": True, "residual": True, "pool": "max"},
        dense=[{"units": 6, "dropout": 0.1}],
    )
    model = build_model(cfg, IMAGE)
    model.train()
    model.head.bias.requires_grad_(False)
    s = model_summary(model, IMAGE)
    assert isinstance(s, ModelSummary)
    assert model.training  # mode restored
    total = sum(p.numel() for p in model.parameters())
    assert s.total_params == total == sum(r.params for r in s.rows)
    assert s.trainable_params == total - 5 and s.non_trainable_params == 5
    rows = {r.name: r for r in s.rows}
    assert rows["body.conv1.res.main.conv"].output_shape == (4, 8, 8)
    assert rows["body.conv1.res.main.conv"].type == "Conv2d"
    assert rows["body.conv1.res.main.conv"].params == 3 * 4 * 9
    assert rows["body.conv1.res.main.bn"].params == 8
    assert rows["body.conv1.pool"].output_shape == (4, 4, 4)
    assert rows["body.flatten"].output_shape == (64,)
    assert rows["head"].output_shape == (5,) and rows["head"].params == 6 * 5 + 5
    assert s.input_shape == (3, 8, 8) and s.output_shape == (5,)
    text = str(s)
    assert "Output shape" in text and "body.conv1.pool" in text and "(N, 4, 4, 4)" in text
    assert f"Total params:         {total:,}" in text
    d = json.loads(json.dumps(s.to_dict()))
    assert d["total_params"] == total and len(d["rows"]) == len(s.rows)
    assert d["rows"][-1] == {"name": "head", "type": "Linear", "output_shape": [5], "params": 35}


def test_model_summary_tokens():
    model = build_model(cnn({"filters": 3}, embedding_dim=5), TOKENS)
    s = model_summary(model, TOKENS)
    assert s.rows[0].name == "body.embed.embedding" and s.rows[0].output_shape == (12, 5)
    assert s.rows[0].params == 20 * 5
    assert s.total_params == n_params(model)


# --------------------------------------------------------------------------- packaging


def test_no_optuna_or_ray_import():
    code = (
        "import sys, automl.models; bad = [m for m in ('optuna', 'ray') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
