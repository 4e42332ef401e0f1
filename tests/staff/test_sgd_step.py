"""The reference TwoLayerNet.sgd_step: one fused SGD step, checked against loss() followed by optim.sgd.

``sgd_step`` is staff-only (the kit's TwoLayerNet has no such method), so these tests stay out of
the kit. The other path, ``loss`` then ``sgd`` on every parameter, is the one students' nets take.
"""

import math

import numpy as np
import pytest

from cs231n import optim
from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.solver import LossDivergedError, Solver

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def rel_error(x, y):
    return float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))


def net(D, H, C, dtype, order, reg, seed=0):
    np.random.seed(seed)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=0.1, reg=reg)
    model.params = {k: np.asarray(v, dtype=dtype, order=order if k == "W1" else "C") for k, v in model.params.items()}
    return model


def batches(D, dtype, n=3, N=20, C=5, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((N, D)).astype(dtype), rng.integers(C, size=N)) for _ in range(n)]


# W1 of 12 x 7 goes through numpy's fallbacks; 400 x 100 (40000 entries) through BLAS gemm and axpy.
@pytest.mark.parametrize("D, H", [(12, 7), (400, 100)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_sgd_step_gives_the_losses_and_parameters_of_loss_then_sgd(D, H, dtype, order, reg):
    fused, plain = net(D, H, 5, dtype, order, reg), net(D, H, 5, dtype, order, reg)
    arrays = dict(fused.params)
    for X, y in batches(D, dtype):
        loss = fused.sgd_step(X, y, 0.05)
        want, grads = plain.loss(X, y)
        for k, w in plain.params.items():
            plain.params[k], _ = optim.sgd(w, grads[k], {"learning_rate": 0.05})
        assert isinstance(loss, float)
        assert loss == pytest.approx(float(want), rel=TOL[dtype])
    for k, w in plain.params.items():
        assert fused.params[k] is arrays[k]  # updated in place, as sgd does
        assert fused.params[k].dtype == dtype
        assert rel_error(fused.params[k], w) < TOL[dtype]
    assert fused.params["W1"].flags[f"{order}_CONTIGUOUS"]
    # The steps did move the parameters: the comparison is not between two untouched copies.
    assert rel_error(fused.params["W1"], net(D, H, 5, dtype, order, reg).params["W1"]) > 1e-3


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_loss_leaves_every_parameter_as_it_was(bad):
    model = net(12, 7, 5, np.float64, "C", 0.1)
    before = {k: v.copy() for k, v in model.params.items()}
    X, y = batches(12, np.float64)[0]
    X[3, 4] = bad
    loss = model.sgd_step(X, y, 0.05)
    assert not math.isfinite(loss)
    for k, v in before.items():
        assert np.array_equal(model.params[k], v)


def test_sgd_step_checks_its_input_like_loss():
    with pytest.raises(ValueError, match="12"):
        net(12, 7, 5, np.float64, "C", 0.1).sgd_step(np.ones((4, 11)), np.zeros(4, dtype=int), 0.1)


def cifar_like_data(D=300, C=5, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((160, D))
    y = np.argmax(X @ rng.standard_normal((D, C)), axis=1)
    return {"X_train": X[:120], "y_train": y[:120], "X_val": X[120:], "y_val": y[120:]}


def test_the_solver_trains_the_reference_net_with_sgd_as_with_the_rule_applied_per_parameter(monkeypatch):
    calls = []
    real = TwoLayerNet.sgd_step
    monkeypatch.setattr(TwoLayerNet, "sgd_step", lambda self, *a: calls.append(a[2]) or real(self, *a))
    models = [net(300, 120, 5, np.float64, "F", 0.01) for _ in range(2)]
    rules = ["sgd", lambda w, dw, config: optim.sgd(w, dw, config)]  # the same rule, but not optim.sgd
    solvers = [
        Solver(
            m,
            cifar_like_data(),
            update_rule=rule,
            optim_config={"learning_rate": 0.05},
            lr_schedule="cosine",
            batch_size=30,
            num_epochs=3,
            verbose=False,
        )
        for m, rule in zip(models, rules)
    ]
    for s in solvers:
        np.random.seed(4)
        s.train()
    assert len(calls) == 12  # every update of the first run, none of the second
    assert calls[0] == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi / 12)))
    assert solvers[0].loss_history == pytest.approx(solvers[1].loss_history, rel=1e-10)
    assert solvers[0].val_acc_history == solvers[1].val_acc_history
    for k in models[0].params:
        assert rel_error(models[0].params[k], models[1].params[k]) < 1e-10


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_fused_run_stops_with_the_parameters_from_before_the_bad_minibatch():
    model = net(300, 120, 5, np.float64, "C", 0.0)
    solver = Solver(
        model, cifar_like_data(), optim_config={"learning_rate": 1e8}, batch_size=10, num_epochs=20, verbose=False
    )
    with pytest.raises(LossDivergedError):
        solver.train()
    assert all(np.all(np.isfinite(v)) for v in model.params.values())
