"""relucourse.sweep: the batched engine against one-run loops, its gradients against independent ones, its outcomes."""

import math

import pytest
import torch

from relucourse.data import teacher_student_batches
from relucourse.models import Neuron
from relucourse.optim import SGD, Adam
from relucourse.sweep import Outcome, classify, sweep, trajectory
from relucourse.train import train

pytestmark = [pytest.mark.optimizers, pytest.mark.usefixtures("one_torch_thread")]

OPTIMIZERS = {
    "SGD": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "Nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "dampened": (SGD, {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    "Adam": (Adam, {"betas": (0.8, 0.99)}),
    "AMSGrad": (torch.optim.Adam, {"amsgrad": True, "weight_decay": 0.01}),
}
W0, B0, LRS, STEPS = [-2.0, -0.3, 0.7], [0.4, -0.2, 0.1], [0.05, 0.6], 30


def random_points(n, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.cat([4 * torch.rand(n, generator=g, dtype=torch.float64) - 2, torch.tensor([0.0, 0.0, 0.0, 1.0, -1.0])])
    b = torch.cat([2 * torch.rand(n, generator=g, dtype=torch.float64) - 1, torch.tensor([0.0, 0.5, -0.5, 0.0, 0.0])])
    return w, b


@pytest.mark.parametrize("slope", [0.0, 0.2, -0.4])
def test_sampled_gradient_is_autograd_on_the_same_batch(slope):
    w, b = random_points(40, seed=2)
    teacher = (0.8, 0.3)
    one_step = sweep(  # plain SGD, lr 1: θ₁ = θ₀ - ∇, the first batch's gradient
        w,
        b,
        lr=1.0,
        optimizers={"SGD": (SGD, {})},
        steps=1,
        gradient="sampled",
        slope=slope,
        teacher=teacher,
        batch_size=500,
        seed=3,
    )
    got_w, got_b = w - one_step.w[0, 0], b - one_step.b[0, 0]
    x = torch.randn(500, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)[
        :, 0
    ]  # the stream's batch 1
    y = torch.relu(0.8 * x + 0.3)
    for i in range(len(w)):
        wi, bi = w[i].clone().requires_grad_(True), b[i].clone().requires_grad_(True)
        ((torch.nn.functional.leaky_relu(wi * x + bi, slope) - y) ** 2).mean().backward()  # σ'(0) = slope
        assert got_w[i].item() == pytest.approx(wi.grad.item(), rel=1e-10, abs=1e-12), f"w={w[i]:.3f}, b={b[i]:.3f}"
        assert got_b[i].item() == pytest.approx(bi.grad.item(), rel=1e-10, abs=1e-12), f"w={w[i]:.3f}, b={b[i]:.3f}"


@pytest.mark.parametrize("gradient", ["exact", "sampled"])
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_engine_equals_one_run_loops(gradient, bias, slope):
    b0 = B0 if bias else None
    problem = {"steps": STEPS, "gradient": gradient, "slope": slope, "batch_size": 200, "seed": 5}
    result = sweep(W0, b0, lr=LRS, optimizers=OPTIMIZERS, record=True, **problem)
    assert result.w_path.shape == (STEPS + 1, len(OPTIMIZERS), len(LRS), len(W0))
    for o, spec in enumerate(OPTIMIZERS.values()):
        for l, lr in enumerate(LRS):
            for s, w0 in enumerate(W0):
                w_path, b_path = trajectory(w0, None if b0 is None else b0[s], lr=lr, optimizer=spec, **problem)
                where = f"{list(OPTIMIZERS)[o]}, lr={lr}, start {s}"
                torch.testing.assert_close(result.w_path[:, o, l, s], w_path, rtol=1e-9, atol=1e-12, msg=where)
                if bias:
                    torch.testing.assert_close(result.b_path[:, o, l, s], b_path, rtol=1e-9, atol=1e-12, msg=where)
                else:
                    assert result.b is None and b_path is None


def test_engine_reproduces_the_seed_run_of_the_training_loop():
    # the dying_relu lesson's run: Neuron, torch's SGD(0.01), float32 batches of 1000 from seed 0
    steps, w0s = 300, [0.5, -10.0]
    result = sweep(
        w0s,
        lr=0.01,
        optimizers={"SGD": (torch.optim.SGD, {})},
        steps=steps,
        gradient="sampled",
        seed=0,
        dtype=torch.float32,
        record=True,
    )
    for s, w0 in enumerate(w0s):
        student = Neuron(w0)
        history = train(
            student,
            teacher_student_batches(Neuron(1.0).requires_grad_(False), seed=0),
            optimizer=torch.optim.SGD(student.parameters(), lr=0.01),
            steps=steps,
        )
        # float32, 1000-term means in another order: ≲ log2(1000)·2⁻²⁴ a step, √300 steps of random sign ≈ 1e-5
        torch.testing.assert_close(result.w_path[:, 0, 0, s], history.params["weight"][:, 0], rtol=2e-5, atol=2e-5)


def test_outcomes_of_gradient_descent_follow_the_step_size():
    # on L(w) (no bias), w_{t+1} = (1 - η) w_t left of 0 and w_{t+1} - 1 = (1 - η)(w_t - 1) right of it: from
    # w0 < 0, η <= 1 creeps to 0, 1 < η < 2 jumps over and converges; for 2 < η < φ² = 2.618 the interval
    # [1 - (η - 1)², η] is mapped into itself (bounded bouncing, never converging); η = 3 diverges
    lr = torch.tensor([0.5, 0.99, 1.0, 1.5, 1.99, 2.5, 3.0])
    S, R, D = Outcome.STUCK, Outcome.REACHED, Outcome.DIVERGED
    expected = [[S, S, R, R], [S, S, R, R], [S, S, R, R], [R, R, R, R], [R, R, R, R], [D, S, S, D], [D, D, D, D]]
    result = sweep([-3.0, -0.1, 0.3, 4.0], lr=lr, optimizers={"GD": (SGD, {})}, steps=3000)
    assert result["GD"].tolist() == expected


def test_a_diverging_run_stops_where_it_left_the_bound():
    result = sweep([2.2], lr=3.0, optimizers={"GD": (SGD, {})}, steps=100, bound=1e3, record=True)
    path = result.w_path[:, 0, 0, 0]
    left = int((path.abs() > 1e3).nonzero()[0])
    assert (path[left:] == path[left]).all() and (path[:left].abs() <= 1e3).all()
    w_path, _ = trajectory(2.2, lr=3.0, optimizer=(SGD, {}), steps=100, bound=1e3)
    torch.testing.assert_close(path, w_path)
    assert result.outcome.item() == Outcome.DIVERGED


def test_a_scalar_start_fills_the_grid_and_the_callers_tensors_stay_as_they_were():
    w0 = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    result = sweep(w0, lr=[0.1, 0.2], optimizers={"GD": (SGD, {})}, steps=5)
    sweep(w0, lr=0.1, optimizers={"GD": (SGD, {})}, steps=5)  # a grid of one learning rate: no copy needed to flatten
    assert w0.tolist() == [-1.0, 0.5]
    scalar = sweep(-1.0, lr=[0.1, 0.2], optimizers={"GD": (SGD, {}), "Adam": (Adam, {})}, steps=5)
    assert scalar.w.shape == (2, 2) and torch.equal(scalar.w[0], result.w[0, :, 0])


def test_classify():
    w = torch.tensor([1.005, 0.0, -1e-3, 2e6, math.nan, 1.0])
    b = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 0.5])
    assert classify(w, b).tolist() == [
        Outcome.REACHED,
        Outcome.STUCK,
        Outcome.STUCK,
        Outcome.DIVERGED,
        Outcome.DIVERGED,
        Outcome.STUCK,
    ]
    assert classify(w[:1]).tolist() == [Outcome.REACHED]
    assert classify(torch.tensor([0.917]), target=(1 / 1.09, 0.0)).tolist() == [Outcome.REACHED]


def test_result_shapes_follow_the_grid_and_names_index_it():
    w0, b0 = torch.meshgrid(torch.linspace(-1, 1, 4), torch.linspace(-1, 1, 3), indexing="xy")  # shape (3, 4)
    result = sweep(w0, b0, lr=[0.1, 0.2], optimizers={"a": (SGD, {}), "b": (Adam, {})}, steps=5)
    assert result.w.shape == result.b.shape == result.outcome.shape == (2, 2, 3, 4)
    assert result.names == ("a", "b") and result["b"].shape == (2, 3, 4)
    assert result.w_path is None and result.outcome.dtype == torch.int64
    with pytest.raises(KeyError, match="no optimizer 'c'"):
        result["c"]


def test_progress_bar_and_threads(capsys):
    torch.set_num_threads(2)  # the engine runs on one thread and gives the caller's setting back
    sweep([1.0], lr=0.1, optimizers={"SGD": (SGD, {})}, steps=3, progress=True)
    assert "sweep" in capsys.readouterr().err
    assert torch.get_num_threads() == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
@pytest.mark.parametrize("gradient", ["exact", "sampled"])
def test_gpu_gives_the_cpu_answers(gradient):
    kwargs = dict(lr=LRS, optimizers=OPTIMIZERS, steps=STEPS, gradient=gradient, batch_size=200)
    on_gpu, on_cpu = sweep(W0, B0, device="cuda", **kwargs), sweep(W0, B0, **kwargs)
    assert on_gpu.w.device.type == "cuda"
    torch.testing.assert_close(on_gpu.w.cpu(), on_cpu.w, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(on_gpu.b.cpu(), on_cpu.b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": -0.1}, ValueError, "Invalid learning rate"),
        ({"lr": [0.1, math.nan]}, ValueError, "Invalid lr"),
        ({"steps": -1}, ValueError, "Invalid steps"),
        ({"gradient": "noisy"}, ValueError, "Invalid gradient"),
        ({"batch_size": 0}, ValueError, "Invalid batch_size"),
        ({"slope": math.inf}, ValueError, "Invalid slope"),
        ({"teacher": (1.0,)}, ValueError, "Invalid teacher"),
        ({"tol": 0.0}, ValueError, "Invalid tol"),
        ({"optimizers": {}}, ValueError, "Invalid optimizers"),
        ({"optimizers": {"r": (torch.optim.RMSprop, {})}}, TypeError, "engine knows SGD and Adam"),
        ({"optimizers": {"w": (torch.optim.AdamW, {})}}, ValueError, "decoupled_weight_decay"),
        ({"optimizers": {"m": (torch.optim.SGD, {"maximize": True})}}, ValueError, "maximize"),
        ({"optimizers": {"s": (SGD, {"lr": 0.1})}}, ValueError, "through lr="),
        ({"optimizers": {"s": (SGD, {"momentum": -1.0})}}, ValueError, "Invalid momentum value"),
        ({"optimizers": {"s": SGD}}, TypeError, "Invalid optimizer 's'"),
        ({"w0": [0.0, math.inf]}, ValueError, "Invalid w0"),
        ({"w0": [0.5] * 100, "record": True, "steps": 10**7}, ValueError, "Invalid record"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    arguments = {"w0": [1.0], "lr": 0.1, "optimizers": {"SGD": (SGD, {})}, "steps": 2, **kwargs}
    with pytest.raises(error, match=message):
        sweep(arguments.pop("w0"), **arguments)


def test_a_run_is_selected_by_its_values_and_is_the_one_run_reference():
    starts, lrs = (
        torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64),
        10 ** torch.linspace(-3, -1, 3, dtype=torch.float64),
    )
    optimizers = {"SGD": OPTIMIZERS["SGD"], "momentum": OPTIMIZERS["momentum"]}
    result = sweep(starts, 0.25, lr=lrs, optimizers=optimizers, steps=50, record=True)
    run = result.run("momentum", lr=0.01, w0=0.5)
    w_path, b_path = trajectory(0.5, 0.25, lr=0.01, optimizer=OPTIMIZERS["momentum"], steps=50)
    torch.testing.assert_close(run.w_path, w_path, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(run.b_path, b_path, rtol=1e-9, atol=1e-12)
    assert run.w == w_path[-1].item() and run.b == b_path[-1].item()
    assert run.outcome == classify(w_path[-1], b_path[-1]).item()
    assert result.run("SGD", lr=0.001, w0=2.0, b0=0.25).w == result.w[0, 0, 2].item()
    assert result.lr_index(0.1) == 2


@pytest.mark.parametrize(
    "select, error, message",
    [
        (lambda r: r.run("Adam", lr=0.01, w0=0.5), KeyError, "no optimizer 'Adam'"),
        (lambda r: r.run("SGD", lr=0.02, w0=0.5), ValueError, "no learning rate 0.02"),
        (lambda r: r.run("SGD", lr=0.01, w0=0.7), ValueError, "0 starts"),
        (lambda r: r.run("SGD", lr=0.01), ValueError, "2 starts"),
        (lambda r: r.run("SGD", lr=0.01, w0=0.5, b0=0.0), ValueError, "no b0"),
    ],
)
def test_a_run_not_on_the_grid_is_named(select, error, message):
    result = sweep(torch.tensor([-1.0, 0.5]), lr=[0.001, 0.01], optimizers={"SGD": OPTIMIZERS["SGD"]}, steps=3)
    with pytest.raises(error, match=message):
        select(result)
