import math

import numpy as np
import pytest

import uepmm
from uepmm import NOW, SCHEMES, JobSpec, Scheme, coded_matmul, get_scheme, plan_job
from uepmm.codes import MDS

ORDER = ["uncoded", "repetition", "speculative", "speculative-k", "mds", "matdot", "polynomial", "sampling",
         "now", "ew", "now+", "ew+", "now-singletons", "ew-rect", "ew-matdot", "spark", "cubed", "mds-adaptive",
         "now+adaptive", "ew+adaptive", "now-singletons+adaptive", "ew-rect+adaptive"]


def test_registry_names_order_and_uep_flag():
    assert list(SCHEMES) == ORDER
    assert {n for n, s in SCHEMES.items() if s.uep} == {"now", "ew", "now+", "ew+", "now-singletons", "ew-rect",
                                                         "ew-matdot", "now+adaptive", "ew+adaptive",
                                                         "now-singletons+adaptive", "ew-rect+adaptive"}
    assert uepmm.SCHEMES is SCHEMES and uepmm.get_scheme is get_scheme and uepmm.Scheme is Scheme


def test_uep_asks_the_code_not_the_name():
    assert Scheme("mine", NOW((0.5, 0.3, 0.2))).uep is True
    assert Scheme("ew-named-but-mds", MDS()).uep is False
    assert Scheme("mine", NOW((0.5, 0.3, 0.2))).code_name == "now"


# (scheme, code, decoder, gamma, workers used, copies) for c×r M = 9 and W = 30
EXPECTED = [
    ("uncoded", "uncoded", "zero", None, 9, None),
    ("repetition", "repetition", "zero", None, 27, 3),
    ("speculative", "speculative", "zero", None, 30, None),
    ("speculative-k", "speculative", "zero", None, 9, None),
    ("mds", "mds", "zero", None, 30, None),
    ("matdot", "matdot", "zero", None, 30, None),
    ("sampling", "sampling", "zero", None, 30, None),
    ("now", "now", "zero", None, 30, None),
    ("ew", "ew", "zero", None, 30, None),
    ("now+", "now", "lmmse", "auto", 30, None),
    ("ew+", "ew", "lmmse", "auto", 30, None),
]


@pytest.mark.parametrize("name, code, decoder, gamma, used, copies", EXPECTED)
def test_the_spec_a_scheme_produces(name, code, decoder, gamma, used, copies):
    spec = get_scheme(name).spec(partition="cxr", blocks=9, workers=30, deadline=1.5, cost="work")
    assert (spec.code, spec.decoder, spec.gamma, spec.workers, spec.copies) == (code, decoder, gamma, used, copies)
    assert spec.omega_value == 9 / 30  # Remark 1 with the W given, whatever the task rule uses
    assert (spec.deadline, spec.cost, spec.partition, spec.num_products) == (1.5, "work", "cxr", 9)
    explicit = JobSpec(code=code, decoder=decoder, gamma=gamma, copies=copies, partition="cxr", blocks=9,
                       workers=used, deadline=1.5, cost="work", omega=9 / 30)
    assert spec == explicit


def test_polynomial_and_rxc():
    spec = get_scheme("polynomial").spec(partition="rxc", blocks=(3, 3), workers=12)
    assert (spec.code, spec.workers, spec.grid, spec.omega_value) == ("polynomial", 12, (3, 3), 0.75)
    assert get_scheme("repetition").spec(partition="rxc", blocks=(2, 3), workers=20).copies == 3  # 20 // 6


def test_the_template_is_replaced_where_the_scheme_sets_it_and_kept_elsewhere():
    base = JobSpec(code="now", gamma=(0.6, 0.3, 0.1), decoder="lmmse", workers=20, statistic="mean_abs", omega=0.5,
                   encoding="direct", cost="work")
    spec = get_scheme("mds").spec(base)
    assert (spec.code, spec.gamma, spec.decoder, spec.workers) == ("mds", None, "zero", 20)
    assert (spec.statistic, spec.omega, spec.cost) == ("mean_abs", 0.5, "work")  # a numeric Omega stays


def test_open_settings_are_filled_and_agreeing_ones_accepted():
    spec = get_scheme("ew").spec(gamma=(0.5, 0.3, 0.2), workers=15)  # the scheme leaves Γ to the code's default
    assert spec.gamma == (0.5, 0.3, 0.2)
    assert get_scheme("ew").spec(workers=15).gamma is None  # EW's default: Table III for 3 classes
    assert get_scheme("ew+").spec(decoder="LMMSE", code="ew", gamma="auto").decoder == "lmmse"
    assert get_scheme("repetition").spec(blocks=9, workers=30, copies=3).copies == 3
    assert get_scheme("ew+").spec(gamma=None, copies=None).gamma == "auto"  # None: the default, no conflict


@pytest.mark.parametrize("name, settings, message", [
    ("ew+", {"decoder": "zero"},
     "scheme 'ew+' sets decoder='lmmse'; got decoder='zero': drop it, or run get_scheme('ew+').with_(decoder='zero')"),
    ("mds", {"code": "ew"}, "scheme 'mds' sets code='mds'; got code='ew': drop it, or run "
                            "get_scheme('mds').with_(code='ew')"),
    ("now+", {"gamma": (0.5, 0.3, 0.2)}, "scheme 'now+' sets gamma='auto'; got gamma=(0.5, 0.3, 0.2): drop it, or "
                                         "run get_scheme('now+').with_(gamma=(0.5, 0.3, 0.2))"),
    ("repetition", {"blocks": 9, "workers": 30, "copies": 2},
     "scheme 'repetition' sets copies=3; got copies=2: drop it, or run get_scheme('repetition').with_(copies=2)"),
    ("matdot", {"partition": "rxc", "blocks": (3, 3)},
     "scheme 'matdot' does not fit partition 'rxc' (it serves cxr): MatDot: any 2M-1 well-conditioned packets "
     "give C, with its own decoder; use 'polynomial' for --partition rxc"),
    ("uncoded", {"blocks": 9, "workers": 4},
     "scheme 'uncoded' needs at least K = 9 workers, got workers=4; use --workers 9 or more"),
    ("matdot", {"blocks": 9, "workers": 10},
     "scheme 'matdot': matdot with M = 9 needs at least 2M - 1 = 17 workers, got 10"),
])
def test_conflicts_and_impossible_jobs_are_clear_errors(name, settings, message):
    with pytest.raises(ValueError) as err:
        get_scheme(name).spec(**settings)
    if name == "matdot" and "workers" in settings:  # the code's own words, prefixed by the scheme's name
        assert str(err.value).startswith("scheme 'matdot': ") and "17" in str(err.value)
    else:
        assert str(err.value) == message


def test_a_variant_with_with_():
    mine = get_scheme("ew").with_(name="ew-lmmse", decoder="lmmse", classes=(2, 3, 4), encoding="factor")
    spec = mine.spec(partition="rxc", blocks=(3, 3), workers=20)
    assert (spec.decoder, spec.class_counts, spec.encoding) == ("lmmse", (2, 3, 4), "factor")
    assert get_scheme("ew").decoder == "zero"  # the registry's is untouched
    assert Scheme("two", "mds", classes=2).spec(blocks=9).class_counts == (5, 4)  # L near-equal classes
    with pytest.raises(ValueError, match=r"sets class_counts=\(2, 3, 4\); got class_counts=\(3, 3, 3\)"):
        mine.spec(partition="rxc", blocks=(3, 3), workers=20, class_counts=(3, 3, 3))
    with pytest.raises(ValueError, match=r"sets class_counts=\(2, 3, 4\); got a class table \(classes=\)"):
        mine.spec(partition="rxc", blocks=(3, 3), workers=20, classes=[0] * 9)


def test_get_scheme_errors():
    assert get_scheme("EW+") is SCHEMES["ew+"] and get_scheme(SCHEMES["mds"]) is SCHEMES["mds"]
    with pytest.raises(ValueError) as err:
        get_scheme("fancy")
    assert str(err.value) == "unknown scheme 'fancy'; valid values are " + ", ".join(ORDER)
    with pytest.raises(TypeError, match="scheme must be a scheme name .* or a uepmm.Scheme, got 3"):
        get_scheme(3)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"name": "", "code": "ew"}, TypeError, "Scheme name must be a non-empty string, got ''"),
    ({"name": "x", "code": "fancy"}, ValueError, "unknown code 'fancy'; valid values are 'uncoded'"),
    ({"name": "x", "code": "ew", "decoder": "best"}, ValueError, "unknown decoder 'best'"),
    ({"name": "x", "code": "mds", "gamma": "auto"}, ValueError,
     "scheme 'x': gamma applies to codes with window probabilities (now, ew), not 'mds'; leave gamma=None"),
    ({"name": "x", "code": "ew", "gamma": "designed"}, ValueError,
     "gamma must be window probabilities, 'auto' or None; got 'designed'"),
    ({"name": "x", "code": "ew", "gamma": 0.5}, TypeError, "gamma must be a sequence of probabilities"),
    ({"name": "x", "code": "ew", "gamma": (0.5, 0.6)}, ValueError, "gamma"),
    ({"name": "x", "code": NOW((0.5, 0.5)), "gamma": (0.6, 0.4)}, ValueError,
     "scheme 'x': a Code object carries its own gamma; give NOW(gamma=...) or the code's name with gamma="),
    ({"name": "x", "code": "ew", "classes": 0}, ValueError, "classes"),
    ({"name": "x", "code": "ew", "encoding": "smart"}, ValueError, "unknown encoding 'smart'"),
    ({"name": "x", "code": "ew", "tasks": "all"}, ValueError,
     "unknown tasks 'all'; valid values are 'workers', 'code', 'copies'"),
    ({"name": "x", "code": "ew", "partitions": ()}, ValueError, "scheme 'x': partitions must name at least one"),
    ({"name": "x", "code": "ew", "partitions": ("rxc", "cr")}, ValueError, "unknown partition 'cr'"),
])
def test_bad_schemes_are_clear_errors(kwargs, error, message):
    with pytest.raises(error) as err:
        Scheme(**kwargs)
    assert message in str(err.value)


def test_tasks_code_needs_a_fixed_task_code():
    with pytest.raises(ValueError, match="scheme 'x': tasks='code' needs a code with fixed tasks, and 'mds' has none"):
        Scheme("x", "mds", tasks="code").spec(workers=12)


def test_spec_rejects_unknown_settings_and_templates():
    with pytest.raises(TypeError, match=r"Scheme.spec got unexpected keyword\(s\) \['deadlines'\]"):
        get_scheme("ew").spec(deadlines=[1.0])
    with pytest.raises(TypeError, match="base must be a uepmm.JobSpec or a JobSpec class, got dict"):
        get_scheme("ew").spec({"workers": 3})


@pytest.fixture
def matrices():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((12, 18)) * np.repeat([3.0, 1.0, 0.3], 6)
    return A, rng.standard_normal((18, 12))


@pytest.mark.parametrize("name, partition, explicit", [
    ("ew+", "cxr", {"code": "ew", "decoder": "lmmse", "gamma": "auto", "workers": 30}),
    ("now", "rxc", {"code": "now", "decoder": "zero", "workers": 30}),
    ("uncoded", "cxr", {"code": "uncoded", "decoder": "zero", "workers": 9, "omega": 9 / 30}),
    ("repetition", "rxc", {"code": "repetition", "decoder": "zero", "workers": 27, "copies": 3, "omega": 9 / 30}),
    ("sampling", "cxr", {"code": "sampling", "decoder": "zero", "workers": 30}),
])
def test_coded_matmul_with_a_scheme_equals_explicit_settings_bit_for_bit(matrices, name, partition, explicit):
    A, B = matrices
    blocks = 9 if partition == "cxr" else (3, 3)
    common = {"partition": partition, "blocks": blocks, "deadline": 0.8, "seed": 5, "cost": "work"}
    by_name = coded_matmul(A, B, scheme=name, workers=30, **common)
    by_object = coded_matmul(A, B, scheme=get_scheme(name), workers=30, **common)
    by_hand = coded_matmul(A, B, **common, **explicit)
    for result in (by_name, by_object):
        assert np.array_equal(result.estimate, by_hand.estimate)
        assert np.array_equal(result.recovered, by_hand.recovered)
        assert np.array_equal(result.encoding.generator, by_hand.encoding.generator)
        assert result.report["scheme"] == name and result.report["workers"] == by_hand.report["workers"]
    assert "scheme" not in by_hand.report
    plan = plan_job(A, B, scheme=name, workers=30, seed=5, partition=partition, blocks=blocks)
    assert plan.spec == get_scheme(name).spec(workers=30, partition=partition, blocks=blocks)


def test_coded_matmul_scheme_with_a_spec_template_and_conflicts(matrices):
    A, B = matrices
    template = JobSpec(partition="cxr", blocks=9, workers=30, deadline=math.inf, decoder="zero")
    result = coded_matmul(A, B, template, scheme="mds", seed=1)
    assert result.recovered.all() and result.report["decoder"] == "zero"
    assert np.allclose(result.estimate, A @ B, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="scheme 'ew\\+' sets decoder='lmmse'; got decoder='zero'"):
        coded_matmul(A, B, scheme="ew+", decoder="zero")
    with pytest.raises(ValueError, match="unknown scheme 'fancy'"):
        plan_job(A, B, scheme="fancy")
    with pytest.raises(TypeError, match="scheme must be a scheme name"):
        coded_matmul(A, B, scheme=1)


def test_simulate_scheme_equals_the_explicit_flags(capsys):
    from uepmm.cli import main

    common = ["simulate", "--trials", "4", "--size-scale", "0.05", "--no-progress", "--format", "csv",
              "--deadline", "0.7,inf", "--seed", "2"]
    assert main([*common, "--scheme", "uncoded", "--workers", "30"]) == 0
    by_scheme = capsys.readouterr().out.splitlines()
    assert main([*common, "--code", "uncoded", "--workers", "9", "--omega", "0.3", "--decoder", "zero"]) == 0
    by_hand = capsys.readouterr().out.splitlines()
    assert by_scheme[0] == "scheme," + by_hand[0]
    assert [line.split(",", 1)[1] for line in by_scheme[1:]] == by_hand[1:]
    assert by_hand[-1].startswith("uncoded,cxr,inf,0.0,")  # every task in: exact


def test_simulate_scheme_conflicts_are_clear_errors(capsys):
    from uepmm.cli import main

    assert main(["simulate", "--scheme", "ew+", "--decoder", "zero", "--trials", "1", "--no-progress"]) == 2
    assert capsys.readouterr().err.strip() == (
        "uepmm simulate: error: scheme 'ew+' sets decoder='lmmse'; got decoder='zero': drop it, or run "
        "get_scheme('ew+').with_(decoder='zero')")
    with pytest.raises(SystemExit):
        main(["simulate", "--scheme", "fancy"])
    assert "invalid choice: 'fancy'" in capsys.readouterr().err


# ------------------------------------------------------------------ training
def test_coding_config_from_a_scheme():
    pytest.importorskip("torch")
    from uepmm.nn import CodingConfig
    from uepmm.nn.setups import scheme_coding

    config = CodingConfig.from_scheme("ew+", partition="cxr", blocks=9, workers=15)
    assert type(config) is CodingConfig
    assert config == CodingConfig(code="ew", decoder="lmmse", gamma="auto", partition="cxr", blocks=9, workers=15,
                                  omega=9 / 15)
    assert (config.class_counts, config.statistic, config.fidelity, config.deadline) == ((1, 2, 6), "mean_abs",
                                                                                         "fast", 1.0)
    # a named scheme in training: the paper's settings, W = 15, its own decoder and Γ
    named = scheme_coding("ew+", "rxc", 2.0)
    assert named == CodingConfig(code="ew", decoder="lmmse", gamma="auto", partition="rxc", blocks=(3, 3),
                                 workers=15, deadline=2.0, class_counts=(1, 2, 6), omega=9 / 15)
    assert scheme_coding("speculative-k", "cxr", 1.0).workers == 9  # its task rule: K of the 15
    paper = scheme_coding("ew", "rxc", 1.0)  # the paper's EW: Table III Γ, zero-fill, as before
    assert (paper.decoder, paper.gamma, paper.workers) == ("zero", (0.4, 0.35, 0.25), 15)
    with pytest.raises(ValueError, match="scheme 'now\\+' sets decoder='lmmse'; got decoder='unbiased'"):
        scheme_coding("now+", "rxc", 1.0, decoder="unbiased")


def test_run_spec_and_train_cli_take_a_named_scheme(tmp_path):
    pytest.importorskip("torch")
    from uepmm.cli import build_parser
    from uepmm.cli import train as train_cli
    from uepmm.nn.runs import RunSpec

    run = RunSpec(scheme="ew+", partition="cxr", deadline=1.0)
    assert run.decoder == "lmmse" and run.name == "mnist_ew+_cxr_T1_s0"
    assert RunSpec(scheme="ew", deadline=1.0).decoder == "zero"  # the paper's default, name unchanged
    assert RunSpec(scheme="ew", deadline=1.0, decoder="lmmse").name == "mnist_ew_rxc_T1_dlmmse_s0"
    with pytest.raises(ValueError, match="scheme 'ew\\+' sets decoder='lmmse'; got decoder='zero'"):
        RunSpec(scheme="ew+", decoder="zero")
    with pytest.raises(ValueError, match="scheme 'matdot': code 'matdot' with M = 9 blocks needs workers >= 2M - 1"):
        RunSpec(scheme="matdot", partition="cxr")
    with pytest.raises(ValueError, match="unknown scheme 'fancy'"):
        RunSpec(scheme="fancy")
    args = build_parser().parse_args(["train", "mnist", "--scheme", "ew+", "ew", "--partition", "cxr",
                                      "--out", str(tmp_path)])
    specs = train_cli.specs_from_args(args)
    assert [(s.scheme, s.decoder, s.gamma) for s in specs] == [("ew+", "lmmse", None), ("ew", "zero", None)]


# ---------------------------------------------------------------- one-product windows as schemes
@pytest.mark.parametrize("name, partition, blocks", [("now-singletons", "cxr", 9), ("now-singletons", "rxc", (3, 3)),
                                                     ("ew-rect", "rxc", (3, 3)), ("ew-matdot", "cxr", 9)])
def test_one_product_schemes_cost_one_block_product_per_packet(name, partition, blocks):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((36, 27)), rng.standard_normal((27, 18))
    plan = plan_job(A, B, scheme=name, partition=partition, blocks=blocks, workers=30, deadline=1.0,
                    latency=uepmm.Exponential(1.0), cost="work", seed=5)
    spec = plan.spec
    assert spec.classes is not None and spec.class_counts is None
    assert spec.code_object.packet_work(plan.job.encoding, plan.job.partition).tolist() == [1] * 30


def test_class_rule_and_prior_reach_the_spec():
    spec = get_scheme("ew-rect").spec(partition="rxc", blocks=(3, 3), workers=30)
    assert (spec.encoding, spec.prior, spec.decoder, spec.gamma) == ("factor", "auto", "lmmse", "auto")
    with pytest.raises(ValueError, match="does not fit partition 'cxr'"):
        get_scheme("ew-rect").spec(partition="cxr", blocks=9, workers=30)
    with pytest.raises(ValueError, match="sets prior='auto'; got prior='probe'"):
        get_scheme("now-singletons").spec(partition="cxr", blocks=9, workers=30, prior="probe")


def test_scheme_rule_and_prior_validation():
    with pytest.raises(ValueError, match="unknown classes 'squares'"):
        Scheme("bad", "ew", classes="squares")
    with pytest.raises(ValueError, match="prior='probe' is LMMSE's"):
        Scheme("bad", "now", decoder="zero", prior="probe")
