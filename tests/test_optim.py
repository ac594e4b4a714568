"""relucourse.optim against torch.optim on a small ReLU network, by hand on a quadratic, and its interface."""

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relucourse.optim import SGD, Adam, iterate

pytestmark = [pytest.mark.optimizers, pytest.mark.usefixtures("one_torch_thread")]

STEPS = 100
SETTINGS = [
    (SGD, torch.optim.SGD, {"lr": 0.05}),
    (SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    (SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    (SGD, torch.optim.SGD, {"lr": 0.02, "momentum": 0.5, "dampening": 0.3}),
    (SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05}),
    (SGD, torch.optim.SGD, {"lr": 0.03, "weight_decay": 0.1, "nesterov": True, "momentum": 0.3}),
    (Adam, torch.optim.Adam, {}),
    (Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99)}),
    (Adam, torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (Adam, torch.optim.Adam, {"lr": 0.005, "amsgrad": True, "weight_decay": 0.1}),
    (Adam, torch.optim.Adam, {"lr": 0.02, "eps": 1e-3, "weight_decay": 0.01}),
]
IDS = [f"{ours.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for ours, _, kw in SETTINGS]


def network(dtype=torch.float64) -> nn.Module:
    """A seeded 3-16-16-1 ReLU network: several weight and bias tensors with different gradient scales."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)).to(dtype)


def batches(n: int, dtype=torch.float64) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """n seeded batches of a teacher-student regression: y = relu(x · a) - 0.5 relu(x · c), x ~ N(0, I_3)."""
    g = torch.Generator().manual_seed(1)
    a, c = torch.randn(3, generator=g, dtype=dtype), torch.randn(3, generator=g, dtype=dtype)
    data = []
    for _ in range(n):
        x = torch.randn(64, 3, generator=g, dtype=dtype)
        data.append((x, (torch.relu(x @ a) - 0.5 * torch.relu(x @ c))[:, None]))
    return data


def train(model: nn.Module, optimizer, data) -> list[list[torch.Tensor]]:
    """Step through `data`; return every parameter after every step."""
    path = []
    for x, y in data:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        path.append([p.detach().clone() for p in model.parameters()])
    return path


@pytest.mark.parametrize("ours, theirs, kwargs", SETTINGS, ids=IDS)
def test_same_iterates_as_torch_over_100_steps(ours, theirs, kwargs):
    data = batches(STEPS)
    model_ours, model_torch = network(), network()
    path_ours = train(model_ours, ours(model_ours.parameters(), **kwargs), data)
    path_torch = train(model_torch, theirs(model_torch.parameters(), **kwargs), data)
    for step, (a, b) in enumerate(zip(path_ours, path_torch)):
        for p_ours, p_torch in zip(a, b):
            torch.testing.assert_close(p_ours, p_torch, msg=lambda m: f"step {step + 1}: {m}")
    moved = sum((p - p0).abs().sum() for p, p0 in zip(path_ours[-1], network().parameters()))
    assert moved > 1e-2, "the parameters hardly moved: the comparison tests nothing"


@pytest.mark.parametrize("ours, theirs, kwargs", [SETTINGS[2], SETTINGS[9]], ids=[IDS[2], IDS[9]])
def test_float32_and_two_parameter_groups_match_torch(ours, theirs, kwargs):
    data = batches(STEPS, torch.float32)
    model_ours, model_torch = network(torch.float32), network(torch.float32)

    def groups(model):
        first, *rest = model.children()
        return [
            {"params": first.parameters(), "lr": 0.5 * kwargs.get("lr", 1e-3)},
            {"params": [p for m in rest for p in m.parameters()]},
        ]

    path_ours = train(model_ours, ours(groups(model_ours), **kwargs), data)
    path_torch = train(model_torch, theirs(groups(model_torch), **kwargs), data)
    for p_ours, p_torch in zip(path_ours[-1], path_torch[-1]):
        torch.testing.assert_close(p_ours, p_torch)


@pytest.mark.parametrize("ours, theirs, kwargs", SETTINGS, ids=IDS)
def test_state_has_torchs_keys_and_values(ours, theirs, kwargs):
    data = batches(5)
    model_ours, model_torch = network(), network()
    opt_ours, opt_torch = ours(model_ours.parameters(), **kwargs), theirs(model_torch.parameters(), **kwargs)
    train(model_ours, opt_ours, data)
    train(model_torch, opt_torch, data)
    for p_ours, p_torch in zip(model_ours.parameters(), model_torch.parameters()):
        state_ours, state_torch = opt_ours.state[p_ours], opt_torch.state[p_torch]
        assert sorted(state_ours) == sorted(state_torch)
        for key in state_torch:
            torch.testing.assert_close(state_ours[key], state_torch[key], check_dtype=False)


@pytest.mark.parametrize("ours, theirs, kwargs", SETTINGS, ids=IDS)
def test_state_dict_round_trip_continues_the_same_run(ours, theirs, kwargs):
    data = batches(STEPS)
    whole_model = network()
    whole = train(whole_model, ours(whole_model.parameters(), **kwargs), data)[-1]

    model = network()
    optimizer = ours(model.parameters(), **kwargs)
    train(model, optimizer, data[:50])
    saved = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, saved)
    saved.seek(0)
    checkpoint = torch.load(saved)

    for cls in (ours, theirs):  # our state dict resumes in our optimizer and in torch's, with the same result
        resumed = network()
        resumed.load_state_dict(checkpoint["model"])
        optimizer = cls(resumed.parameters(), **kwargs)
        optimizer.load_state_dict(copy.deepcopy(checkpoint["optimizer"]))
        for p, q in zip(train(resumed, optimizer, data[50:])[-1], whole):
            torch.testing.assert_close(p, q, msg=lambda m: f"resumed in {cls.__module__}.{cls.__name__}: {m}")


# per-run settings: run r of a (runs, ...) parameter steps as torch.optim would with settings[r]
TORCH_DEFAULTS = {
    SGD: {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
}
PER_RUN = [
    (
        SGD,
        torch.optim.SGD,
        [
            {"lr": 0.05},
            {"lr": 0.01, "momentum": 0.9},
            {"lr": 0.02, "momentum": 0.9, "nesterov": True},
            {"lr": 0.03, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
            {"lr": 0.04, "dampening": 0.5},
        ],
    ),
    (
        Adam,
        torch.optim.Adam,
        [
            {"lr": 0.01},
            {"lr": 0.02, "betas": (0.8, 0.99), "amsgrad": True},
            {"lr": 0.005, "eps": 1e-3, "weight_decay": 0.1},
            {"lr": 0.0, "amsgrad": True},
        ],
    ),
]


@pytest.mark.parametrize("ours, theirs, settings", PER_RUN, ids=["SGD", "Adam"])
def test_per_run_hyper_parameters_step_every_run_as_torch_would(ours, theirs, settings):
    options = {}
    for key, default in TORCH_DEFAULTS[ours].items():
        values = [setting.get(key, default) for setting in settings]
        if key == "betas":
            options[key] = tuple(torch.tensor([b[i] for b in values], dtype=torch.float64) for i in range(2))
        else:
            options[key] = torch.tensor(values, dtype=torch.bool if isinstance(default, bool) else torch.float64)
    g = torch.Generator().manual_seed(2)
    start = torch.randn(len(settings), 3, 2, generator=g, dtype=torch.float64)
    target = torch.randn(3, 2, generator=g, dtype=torch.float64)
    ours_w = start.clone().requires_grad_(True)
    theirs_w = [start[r].clone().requires_grad_(True) for r in range(len(settings))]
    optimizer = ours([ours_w], **options)
    references = [theirs([w], **setting) for w, setting in zip(theirs_w, settings)]
    for _ in range(20):
        optimizer.zero_grad()
        (torch.relu(ours_w - target) ** 2).sum().backward()
        optimizer.step()
        for w, reference in zip(theirs_w, references):
            reference.zero_grad()
            (torch.relu(w - target) ** 2).sum().backward()
            reference.step()
    for r, w in enumerate(theirs_w):
        torch.testing.assert_close(ours_w[r], w, msg=lambda m: f"run {r}, {settings[r]}: {m}")
    assert (ours_w[0] - start[0]).abs().max() > 1e-2, "the runs hardly moved: the comparison tests nothing"


def test_a_per_run_hyper_parameter_needs_one_value_per_run():
    w = torch.zeros(3, 2, requires_grad=True)
    optimizer = SGD([w], lr=torch.tensor([0.1, 0.2]))
    w.sum().backward()
    with pytest.raises(ValueError, match="2 runs for a parameter of shape"):
        optimizer.step()
    with pytest.raises(ValueError, match=r"Invalid momentum value: \[-1.0\]"):
        SGD([w], momentum=torch.tensor([0.5, -1.0]))


def test_iterate_stops_a_run_where_it_leaves_the_bound():
    # θ_{t+1} = θ_t - η θ_t = (1 - η) θ_t: run 0 (η = 3) doubles in size each step, run 1 (η = 0.5) halves
    w = torch.tensor([1.0, 1.0], dtype=torch.float64)
    (path,) = iterate(
        [w], lambda w: (w.clone(),), [SGD([w], lr=torch.tensor([3.0, 0.5], dtype=torch.float64))], steps=6, bound=5.0
    )
    assert path[:, 0].tolist() == [1.0, -2.0, 4.0, -8.0, -8.0, -8.0, -8.0]
    assert path[:, 1].tolist() == [0.5**t for t in range(7)]


def test_heavy_ball_by_hand_on_a_quadratic():
    # L(w) = w²/2, so g_t = w_t; Polyak: w_{t+1} = w_t - η w_t + μ (w_t - w_{t-1}), w_{-1} = w_0
    eta, mu = 0.1, 0.9
    w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    optimizer = SGD([w], lr=eta, momentum=mu)
    previous, current = 2.0, 2.0
    for _ in range(30):
        optimizer.zero_grad()
        (w**2 / 2).sum().backward()
        optimizer.step()
        previous, current = current, current - eta * current + mu * (current - previous)
        assert w.item() == pytest.approx(current, rel=1e-12)


def test_nesterov_by_hand_on_a_quadratic():
    # torch's Nesterov: b_t = μ b_{t-1} + g_t (b_1 = g_1), w_{t+1} = w_t - η (g_t + μ b_t)
    eta, mu = 0.1, 0.9
    w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    optimizer = SGD([w], lr=eta, momentum=mu, nesterov=True)
    current, buffer = 2.0, 0.0
    for _ in range(30):
        optimizer.zero_grad()
        (w**2 / 2).sum().backward()
        optimizer.step()
        buffer = mu * buffer + current
        current = current - eta * (current + mu * buffer)
        assert w.item() == pytest.approx(current, rel=1e-12)


def test_adam_by_hand():
    # first step: m̂_1 = g, v̂_1 = g², so every coordinate moves by η g / (|g| + ε), whatever its scale
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    scale = torch.tensor([1e-3, 1.0, 1e3], dtype=torch.float64)
    optimizer = Adam([w], lr=0.1, eps=1e-8)
    (scale * w).sum().backward()
    optimizer.step()
    torch.testing.assert_close(
        w.detach(), torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64) - 0.1 * scale / (scale + 1e-8)
    )
    # a second, different gradient: the bias-corrected moments by hand
    g1, g2, b1, b2 = scale, -2 * scale, 0.9, 0.999
    w_before = w.detach().clone()
    w.grad = g2.clone()
    optimizer.step()
    m = (b1 * (1 - b1) * g1 + (1 - b1) * g2) / (1 - b1**2)
    v = (b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2) / (1 - b2**2)
    torch.testing.assert_close(w.detach(), w_before - 0.1 * m / (v.sqrt() + 1e-8))


def test_amsgrad_keeps_the_largest_second_moment():
    # a large gradient then small ones: Adam's v shrinks, AMSGrad's max does not, so its steps stay smaller
    paths = {}
    for amsgrad in (False, True):
        w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = Adam([w], lr=0.1, betas=(0.0, 0.9), amsgrad=amsgrad)
        for g in [10.0] + [1.0] * 20:
            w.grad = torch.tensor([g], dtype=torch.float64)
            optimizer.step()
        paths[amsgrad] = (w.item(), optimizer.state[w])
    assert "max_exp_avg_sq" in paths[True][1] and "max_exp_avg_sq" not in paths[False][1]
    assert paths[True][1]["max_exp_avg_sq"].item() == pytest.approx((1 - 0.9) * 100.0)  # v_1 = (1 - β2) g_1²
    assert abs(paths[True][0]) < abs(paths[False][0])


def test_closure_loss_is_returned_and_its_gradient_used():
    for cls in (SGD, Adam):
        w = torch.tensor([1.5], requires_grad=True)
        optimizer = cls([w], lr=0.1)

        def closure():
            optimizer.zero_grad()
            loss = ((w - 3.0) ** 2).sum()
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        assert loss.item() == pytest.approx(2.25)
        assert w.item() > 1.5, f"{cls.__name__} did not step downhill with the closure's gradient"
        assert optimizer.step() is None


def test_parameters_without_gradient_are_skipped():
    for cls, kwargs in ((SGD, {"momentum": 0.9}), (Adam, {})):
        used, unused = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
        optimizer = cls([used, unused], lr=0.1, **kwargs)
        used.sum().backward()
        optimizer.step()
        assert torch.equal(unused, torch.ones(2)) and unused not in optimizer.state
        assert (used < 1).all() and used in optimizer.state


def test_plain_sgd_keeps_no_state():
    w = torch.ones(2, requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    w.sum().backward()
    optimizer.step()
    assert len(optimizer.state[w]) == 0


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (SGD, {"lr": -0.1}, "Invalid learning rate: -0.1"),
        (SGD, {"lr": float("nan")}, "Invalid learning rate: nan"),
        (SGD, {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
        (SGD, {"lr": 0.1, "weight_decay": -1.0}, "Invalid weight_decay value: -1.0"),
        (SGD, {"lr": 0.1, "dampening": 1.5}, "Invalid dampening value: 1.5"),
        (SGD, {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
        (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov momentum requires"),
        (Adam, {"lr": -1.0}, "Invalid learning rate: -1.0"),
        (Adam, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
        (Adam, {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
        (Adam, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        (Adam, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ],
)
def test_bad_hyper_parameters_raise_like_torch(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    "cls, kwargs",
    [(SGD, {"lr": "0.1"}), (SGD, {"lr": 0.1, "nesterov": 1}), (Adam, {"betas": 0.9}), (Adam, {"amsgrad": "yes"})],
)
def test_hyper_parameters_of_the_wrong_type_are_named(cls, kwargs):
    with pytest.raises(TypeError, match="Invalid"):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)
