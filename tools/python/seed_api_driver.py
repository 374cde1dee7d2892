#!/usr/bin/python3
"""Conformance driver for a repository with the seed's Python API (protocol version 2).

    /usr/bin/python3 tools/python/seed_api_driver.py --repo PATH REQUEST.h5 RESPONSE.h5

`vqvae conform --driver "/usr/bin/python3 tools/python/seed_api_driver.py --repo PATH"` runs it.
It imports the repository's package `src` the way BASELINE_FIXES.md's "Test after fixing" snippet
does (src.data.GaussianDataset, src.encoders.PCAEncoder / LearnedLinearEncoder,
src.decoders.PCADecoder / LearnedLinearDecoder, src.quantizers.VectorQuantizer /
RotationVectorQuantizer / ProjectionVectorQuantizer, src.models.VQVAE / LinearGaussianVQVAE,
src.training.losses.vqvae_loss, src.training.Trainer, src.initialization's codebook
initialisations, src.evaluation.MetricsTracker), runs every case of the request and writes what
came back. It judges nothing (the referee does) and never guesses a value: what the
implementation does not offer is written as missing — a module, class or function that does not
exist (status "missing"), an output it does not return, a parameter its vqvae_loss does not take
(attribute "missing") — and an exception inside a case is that case's status "error". The
protocol (docs/conform_protocol.md) says what each case kind computes.

Needs Debian's python3-torch and python3-h5py (Debian's /usr/bin/python3); k-means cases need
python3-sklearn, as the implementation does. Runs on one thread, as the referee does, so that
the same implementation gives the same bits.
"""
import argparse
import copy
import importlib
import inspect
import math
import os
import sys
import warnings

# One thread before the numerics libraries load: OpenBLAS's pool is not reached by
# torch.set_num_threads, nor is the OpenMP pool of scikit-learn's k-means.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")  # the seed's src.evaluation imports its plotting module

PROTOCOL_VERSION = 2

# The keys MetricsTracker's three methods return (protocol: the kind `metrics`).
METRIC_KEYS = ("perplexity", "dead_codes", "min_usage", "max_usage", "usage_std", "usage_entropy",
               "quantization_error", "quant_error_per_dim", "codebook_mean_norm",
               "codebook_std_norm", "codebook_mean_distance")
LOSS_KEYS = ("total", "recon", "codebook", "commitment")


class Missing(Exception):
    """The implementation lacks something a case needs (a module, a class, a function)."""


def fail(message):
    print("seed_api_driver: " + message, file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="repository whose package `src` has the seed's API")
    parser.add_argument("request")
    parser.add_argument("response")
    args = parser.parse_args()
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
        import torch
    except ImportError as error:
        fail(f"{error}: needs Debian's python3-torch and python3-h5py, run with /usr/bin/python3 "
             f"(this is {sys.executable})")
    torch.set_num_threads(1)
    repo = os.path.abspath(args.repo)
    if not os.path.isdir(os.path.join(repo, "src")):
        fail(f"--repo {args.repo}: no package src/ there")
    sys.path.insert(0, repo)
    try:
        importlib.import_module("src")
    except Exception as error:  # the package itself does not import: nothing can run
        fail(f"--repo {args.repo}: import src failed: {type(error).__name__}: {error}")
    cases = read_request(args.request)
    responses = {name: run_case(case) for name, case in cases.items()}
    write_response(args.response, responses)


# ---------------------------------------------------------------- files
def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def read_request(path):
    import h5py
    import numpy
    import torch
    with h5py.File(path, "r") as f:
        version = int(f.attrs["protocol_version"])
        if version != PROTOCOL_VERSION:
            fail(f"{path}: protocol_version {version}, this driver speaks {PROTOCOL_VERSION}")
        cases = {}
        for name, group in f["cases"].items():
            attrs = {key: (text(value) if isinstance(value, (bytes, str)) else value.item())
                     for key, value in group.attrs.items()}
            data = {key: torch.from_numpy(numpy.array(group[key][()], ndmin=1)) for key in group.keys()}
            cases[name] = (attrs, data)
        return cases


def write_response(path, responses):
    import h5py
    import numpy
    temporary = path + ".tmp"
    with h5py.File(temporary, "w") as f:
        f.attrs["protocol_version"] = numpy.int64(PROTOCOL_VERSION)
        f.attrs["driver"] = numpy.bytes_(f"seed_api_driver.py (protocol {PROTOCOL_VERSION})")
        cases = f.create_group("cases")
        for name, (attrs, outputs) in responses.items():
            group = cases.create_group(name)
            for key, value in attrs.items():
                if isinstance(value, str):
                    if value:  # fixed-length strings: the protocol's, and HDF5 has no empty one
                        group.attrs[key] = numpy.bytes_(value.encode("utf-8", "replace"))
                elif isinstance(value, bool):
                    group.attrs[key] = numpy.int64(value)
                elif isinstance(value, int):
                    group.attrs[key] = numpy.int64(value)
                else:
                    group.attrs[key] = numpy.float64(value)
            for key, tensor in outputs.items():
                array = tensor.detach().cpu().contiguous().numpy()
                group.create_dataset(key, data=array)
    os.replace(temporary, path)


# ---------------------------------------------------------------- the implementation under test
def need(module, name):
    try:
        found = importlib.import_module("src." + module)
    except ImportError as error:
        raise Missing(f"src.{module} ({error})")
    if not hasattr(found, name):
        raise Missing(f"src.{module}.{name}")
    return getattr(found, name)


def method(instance, name, owner):
    """instance.name, or Missing naming owner.name."""
    found = getattr(instance, name, None)
    if not callable(found):
        raise Missing(f"{owner}.{name}")
    return found


def accepts(function, parameter):
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def binds(function, *args, **kwargs):
    """Whether function's signature takes these arguments (a defaults call needs its defaults)."""
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:  # no signature to read: let the call decide
        pass
    return True


def make_quantizer(class_name, codebook):
    cls = need("quantizers", class_name)
    n, k = codebook.shape
    if accepts(cls.__init__, "init_codebook"):
        return cls(k, n, init_codebook=codebook.clone())
    return cls(k, n, codebook.clone())


def quantize(quantizer, z):
    """(z_q, indices, info) as the seed returns them; info may lack keys."""
    result = quantizer(z)
    if isinstance(result, dict):
        return result["z_q"], result["indices"], result
    z_q, indices, info = result
    return z_q, indices, info if isinstance(info, dict) else {}


def loss_of(x, x_recon, z, z_q, z_q_hard, beta, missing):
    """vqvae_loss as the implementation defines it: with z_q_hard when it takes it; beta None: its default."""
    vqvae_loss = need("training.losses", "vqvae_loss")
    kwargs = {} if beta is None else {"beta": beta}
    if accepts(vqvae_loss, "z_q_hard") and z_q_hard is not None:
        return vqvae_loss(x, x_recon, z, z_q, z_q_hard, **kwargs)
    if not accepts(vqvae_loss, "z_q_hard"):
        missing.append("z_q_hard parameter of vqvae_loss")
    return vqvae_loss(x, x_recon, z, z_q, **kwargs)


def grad_or_zeros(tensor):
    import torch
    return tensor.grad.detach().clone() if tensor.grad is not None else torch.zeros_like(tensor)


def leaf(tensor, requires_grad):
    return tensor.detach().clone().requires_grad_(requires_grad)


def defaults_call(attrs):
    """True for call = "defaults" (leave out every argument that has a default), False for "explicit"."""
    call = attrs.get("call", "explicit")
    if call not in ("explicit", "defaults"):
        raise ValueError(f"unknown call '{call}' (expected explicit or defaults)")
    return call == "defaults"


def scalar(value):
    """A number the implementation returned, as the protocol's (1,) float64 dataset."""
    import torch
    return torch.tensor([float(value)], dtype=torch.float64)


def as_tensor(value):
    import torch
    return value.detach() if torch.is_tensor(value) else torch.as_tensor(value)


def numbers(returned, expected, outputs, missing):
    """One dataset per key of the dict returned: a number as (1,) float64 (a tensor of more than
    one element as float64 of its shape); the expected keys it lacks are listed as missing."""
    import numpy
    import torch
    for key, value in returned.items():
        if not isinstance(key, str) or not key or "/" in key or key == ".":
            continue
        if isinstance(value, (torch.Tensor, numpy.ndarray)) and value.dtype != object:
            array = as_tensor(value).to(torch.float64)
            outputs[key] = array.reshape(1) if array.numel() == 1 else array
        elif isinstance(value, (bool, int, float, numpy.number)):
            outputs[key] = scalar(value)
        else:
            missing.append(f"{key} (not a number: {type(value).__name__})")
    missing.extend(key for key in expected if key not in returned)


def loss_row(result):
    """The four values train_step returned, or None when it returned something else."""
    if not isinstance(result, dict) or not all(key in result for key in LOSS_KEYS):
        return None
    return [float(result[key]) for key in LOSS_KEYS]


def max_abs_change(before, after):
    """Max |after - before| over two lists of tensors; inf when their structure differs."""
    import torch
    if len(before) != len(after):
        return math.inf
    worst = 0.0
    for a, b in zip(before, after):
        a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
        if a.shape != b.shape:
            return math.inf
        if a.numel():
            same = (a == b) | (a.isnan() & b.isnan())
            diff = torch.where(same, torch.zeros_like(a), (a - b).abs().nan_to_num(nan=math.inf))
            worst = max(worst, float(diff.max()))
    return worst


def optimizer_state(optimizer):
    """optimizer.state_dict()['state'] copied: {param index: {key: tensor or number}}."""
    import torch
    state = optimizer.state_dict()["state"]
    return {index: {key: (value.detach().clone() if torch.is_tensor(value) else copy.deepcopy(value))
                    for key, value in entry.items()}
            for index, entry in state.items()}


def optimizer_change(before, after):
    """Max abs change of any optimizer state tensor or count (the step); inf if entries came or went."""
    if before.keys() != after.keys():
        return math.inf
    values_before, values_after = [], []
    for index in before:
        if before[index].keys() != after[index].keys():
            return math.inf
        for key in before[index]:
            a, b = before[index][key], after[index][key]
            if not all(isinstance(v, (int, float)) or hasattr(v, "shape") for v in (a, b)):
                if a != b:
                    return math.inf
                continue
            values_before.append(a)
            values_after.append(b)
    return max_abs_change(values_before, values_after)


def build_trained_model(data):
    """The model of `train` and `evaluate`, VQVAE(LearnedLinearEncoder(d, k), VectorQuantizer(k, n,
    init_codebook=codebook), LearnedLinearDecoder(k, d)), with the encoder's one (k, d) parameter
    and the decoder's one (d, k) parameter (whatever their names) set to the request's weights:
    (model, encoder weight, decoder weight, quantizer)."""
    import torch
    VQVAE = need("models", "VQVAE")
    LearnedLinearEncoder = need("encoders", "LearnedLinearEncoder")
    LearnedLinearDecoder = need("decoders", "LearnedLinearDecoder")
    k, d = data["encoder_weight"].shape
    encoder, decoder = LearnedLinearEncoder(d, k), LearnedLinearDecoder(k, d)
    quantizer = make_quantizer("VectorQuantizer", data["codebook"])
    model = VQVAE(encoder, quantizer, decoder)
    encoder_weights = [p for p in encoder.parameters() if tuple(p.shape) == (k, d)]
    decoder_weights = [p for p in decoder.parameters() if tuple(p.shape) == (d, k)]
    if len(encoder_weights) != 1:
        raise Missing(f"encoder weight (k, d): the encoder has {len(encoder_weights)} parameters of shape ({k}, {d})")
    if len(decoder_weights) != 1:
        raise Missing(f"decoder weight (d, k): the decoder has {len(decoder_weights)} parameters of shape ({d}, {k})")
    with torch.no_grad():
        encoder_weights[0].copy_(data["encoder_weight"])
        decoder_weights[0].copy_(data["decoder_weight"])
    return model, encoder_weights[0], decoder_weights[0], quantizer


def make_trainer(model, lr):
    import torch
    Trainer = need("training", "Trainer")
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    return Trainer(model, optimizer), optimizer


# ---------------------------------------------------------------- case kinds
# Each takes (attrs, data, missing, extra) and returns its outputs {name: tensor}; it appends to
# `missing` what the implementation did not offer and sets response attributes in `extra`.

def case_dataset(attrs, data, missing, extra):
    import torch
    GaussianDataset = need("data", "GaussianDataset")
    torch.manual_seed(int(attrs["seed"]))
    if defaults_call(attrs):
        dataset = GaussianDataset()
    else:
        dataset = GaussianDataset(d=int(attrs["d"]), k=int(attrs["k"]), sigma_noise=float(attrs["sigma_noise"]),
                                  n_samples=int(attrs["n"]), seed=int(attrs["seed"]))
    outputs = {}
    for name in ("X", "Y", "U_k", "Sigma_X", "eigenvalues_k", "Sigma_z"):
        value = getattr(dataset, name, None)
        if value is None:
            missing.append(name)
        else:
            outputs[name] = as_tensor(value)
    for name in ("sigma_z_squared", "signal_variance", "noise_variance", "snr"):
        value = getattr(dataset, name, None)
        if value is None:
            missing.append(name)
        else:
            outputs[name] = scalar(value.item() if hasattr(value, "item") else value)
    # The data pipeline: a method the dataset lacks, or a defaults call its signature cannot take
    # (no default for the argument left out), is written as missing; the other outputs stay.
    n_init, batch_size = int(attrs["n_init"]), int(attrs["batch_size"])
    get_batch = getattr(dataset, "get_initialization_batch", None)
    if not callable(get_batch):
        missing += ["init_batch (no get_initialization_batch)", "init_batch_default"]
    else:
        outputs["init_batch"] = as_tensor(get_batch(n_init))
        if binds(get_batch):
            outputs["init_batch_default"] = as_tensor(get_batch())
        else:
            missing.append("init_batch_default (get_initialization_batch() needs an argument)")
    get_loader = getattr(dataset, "get_dataloader", None)
    if not callable(get_loader):
        missing += ["loader_x (no get_dataloader)", "loader_y", "loader_batch_sizes",
                    "default_loader_batch_sizes"]
    elif not binds(get_loader, batch_size, shuffle=True):
        missing += ["loader_x (get_dataloader does not take batch_size and shuffle)", "loader_y",
                    "loader_batch_sizes"]
    else:
        xs, ys, sizes = [], [], []
        for batch in get_loader(batch_size, shuffle=True):
            x, y = (batch[0], batch[1] if len(batch) > 1 else None) if isinstance(batch, (tuple, list)) \
                else (batch, None)
            xs.append(as_tensor(x))
            sizes.append(len(x))
            if y is not None:
                ys.append(as_tensor(y))
        width = outputs["X"].shape[1] if "X" in outputs else int(attrs["d"])
        outputs["loader_x"] = torch.cat(xs) if xs else torch.empty(0, width)
        if len(ys) == len(xs) and ys:
            outputs["loader_y"] = torch.cat(ys)
        elif xs:
            missing.append("loader_y (batches are not (x, y) pairs)")
        outputs["loader_batch_sizes"] = torch.tensor(sizes, dtype=torch.int64)
    if callable(get_loader):
        if binds(get_loader):
            firsts = [as_tensor(batch[0] if isinstance(batch, (tuple, list)) else batch) for batch in get_loader()]
            outputs["default_loader_batch_sizes"] = torch.tensor([len(x) for x in firsts], dtype=torch.int64)
            if firsts:
                outputs["default_loader_x"] = torch.cat(firsts)
        else:
            missing.append("default_loader_batch_sizes (get_dataloader() needs an argument)")
    return outputs


def case_pca_or_legacy(attrs, data, missing, extra):
    import torch
    U_k, x, z = data["U_k"], data["x"], data["z"]
    outputs = {}
    with torch.no_grad():
        if attrs["kind"] == "pca":
            encoder, decoder = need("encoders", "PCAEncoder")(U_k), need("decoders", "PCADecoder")(U_k)
            weights = {"encoder_weight": encoder, "decoder_weight": decoder}
            encoded, decoded = encoder(x), decoder(z)
        else:
            model = need("models", "LinearGaussianVQVAE")(U_k.shape[0], U_k.shape[1],
                                                           int(attrs["codebook_size"]), U_k)
            weights = {"encoder_weight": model, "decoder_weight": model}
            encoded, decoded = model.encode(x), model.decode(z)
    for name, module in weights.items():
        if hasattr(module, name):
            outputs[name] = getattr(module, name)
        else:
            missing.append(name)
    outputs.update(encoded=encoded, decoded=decoded)
    return outputs


def case_quantizer(attrs, data, missing, extra):
    import torch
    quantizer = make_quantizer(attrs["class"], data["codebook"])
    z = leaf(data["z"], bool(attrs["z_requires_grad"]))
    z_q, indices, info = quantize(quantizer, z)
    outputs = {"z_q": z_q, "indices": indices.to(torch.int64)}
    z_q_hard = info.get("z_q_hard")
    if z_q_hard is None:
        missing.append("z_q_hard")
    else:
        outputs["z_q_hard"] = z_q_hard
    for key in ("distances", "commitment_loss"):  # the rotation and projection classes return them
        if info.get(key) is not None:
            value = as_tensor(info[key]).detach()
            outputs[key] = value.reshape(1).to(torch.float64) if value.numel() == 1 and key == "commitment_loss" else value
    along = (z_q * data["g"]).sum()
    extra["z_q_requires_grad"] = bool(along.requires_grad)
    if along.requires_grad:
        along.backward(retain_graph=True)
    if z.requires_grad:
        outputs["grad_z"] = grad_or_zeros(z)
    outputs["codebook_grad_from_z_q"] = grad_or_zeros(quantizer.codebook)
    quantizer.codebook.grad = None
    if z_q_hard is not None:
        through_hard = (z_q_hard * data["h"]).sum()
        if through_hard.requires_grad:
            through_hard.backward()
        outputs["codebook_grad_from_z_q_hard"] = grad_or_zeros(quantizer.codebook)
    return outputs


def case_loss(attrs, data, missing, extra):
    import torch
    beta = None if defaults_call(attrs) else float(attrs["beta"])
    x = data["x"]
    x_recon, z = leaf(data["x_recon"], True), leaf(data["z"], True)
    z_q, z_q_hard = leaf(data["z_q"], True), leaf(data["z_q_hard"], True)
    total, values = loss_of(x, x_recon, z, z_q, z_q_hard, beta, missing)
    total.backward()
    outputs = {"losses": torch.tensor([float(total), float(values["recon"]), float(values["codebook"]),
                                       float(values["commitment"])], dtype=torch.float64),
               "grad_x_recon": grad_or_zeros(x_recon), "grad_z": grad_or_zeros(z), "grad_z_q": grad_or_zeros(z_q)}
    if "z_q_hard parameter of vqvae_loss" not in missing:
        outputs["grad_z_q_hard"] = grad_or_zeros(z_q_hard)
    return outputs


def case_model(attrs, data, missing, extra):
    U_k, x = data["U_k"], data["x"]
    quantizer = make_quantizer(attrs["class"], data["codebook"])
    model = need("models", "VQVAE")(need("encoders", "PCAEncoder")(U_k), quantizer,
                                     need("decoders", "PCADecoder")(U_k))
    out = model(x)
    extra["output_keys"] = ",".join(out.keys())
    outputs = {}
    for key in ("x_recon", "z", "z_q", "z_q_hard", "indices"):
        if key in out:
            outputs[key] = out[key]
        else:
            missing.append(key)
    total, _ = loss_of(x, out["x_recon"], out["z"], out["z_q"], out.get("z_q_hard"),
                       float(attrs["beta"]), missing)
    if total.requires_grad:
        total.backward()
    outputs["codebook_grad"] = grad_or_zeros(quantizer.codebook)
    return outputs


def case_ste(attrs, data, missing, extra):
    quantizer = make_quantizer(attrs["class"], data["codebook"])
    decoder = need("decoders", "PCADecoder")(data["U_k"])
    outputs = {}
    for requires_grad, name in ((False, "codebook_grad_z_frozen"), (True, "codebook_grad_z_trainable")):
        quantizer.codebook.grad = None
        z = leaf(data["z"], requires_grad)
        z_q, _, info = quantize(quantizer, z)
        total, _ = loss_of(data["x"], decoder(z_q), z, z_q, info.get("z_q_hard"),
                           float(attrs["beta"]), missing)
        if total.requires_grad:
            total.backward()
        outputs[name] = grad_or_zeros(quantizer.codebook)
    return outputs


INIT_FUNCTIONS = ("uniform_init", "random_normal_init", "compute_rd_variance", "rd_gaussian_init",
                  "kmeans_init", "quantizer_default", "legacy_init")


def init_codebook(attrs, data, missing, explicit):
    """The init case's function, called after torch.manual_seed(seed): with the request's arguments
    (explicit) or leaving out every argument that has a default. {"codebook": ...} or {"variance": ...}."""
    import torch
    function = attrs["function"]
    n, k, seed = int(attrs["codebook_size"]), int(attrs["dim"]), int(attrs["seed"])
    if function not in INIT_FUNCTIONS:
        raise ValueError(f"unknown init function '{function}'")
    if function == "quantizer_default":
        VectorQuantizer = need("quantizers", "VectorQuantizer")
        torch.manual_seed(seed)
        if explicit:  # the default spelled out: a codebook drawn by uniform_init
            owner = VectorQuantizer(k, n, init_codebook=need("initialization", "uniform_init")(n, k))
        else:
            owner = VectorQuantizer(k, n)
    elif function == "legacy_init":
        LinearGaussianVQVAE = need("models", "LinearGaussianVQVAE")
        U_k = data["U_k"]
        torch.manual_seed(seed)
        if explicit:
            model = LinearGaussianVQVAE(U_k.shape[0], k, n, U_k, init_method=attrs["init_method"],
                                        init_data=data["data"])
        else:
            model = LinearGaussianVQVAE(U_k.shape[0], k, n, U_k)
        owner = getattr(model, "quantizer", None)
        if owner is None:
            missing.append("codebook (LinearGaussianVQVAE has no quantizer)")
            return {}
    else:
        call = need("initialization", function)
        if function == "uniform_init":
            args, kwargs = (n, k), {}
        elif function == "random_normal_init":
            args, kwargs = (n, k), {"std": float(attrs["std"])}
        elif function == "compute_rd_variance":
            args, kwargs = (data["data"], float(attrs["rate"])), {}
        elif function == "rd_gaussian_init":
            args, kwargs = (n, k, data["data"]), {"rate": float(attrs["rate"])}
        else:  # kmeans_init
            args, kwargs = (n, k, data["data"]), {"n_init": int(attrs["n_init"]), "max_iter": int(attrs["max_iter"]),
                                                  "random_state": int(attrs["random_state"])}
        if not explicit:
            kwargs = {}
        torch.manual_seed(seed)
        result = call(*args, **kwargs)
        if function == "compute_rd_variance":
            return {"variance": scalar(result.item() if hasattr(result, "item") else result)}
        return {"codebook": as_tensor(result)}
    codebook = getattr(owner, "codebook", None)
    if codebook is None:
        missing.append("codebook")
        return {}
    return {"codebook": as_tensor(codebook)}


def case_init(attrs, data, missing, extra):
    if not defaults_call(attrs):
        return init_codebook(attrs, data, missing, explicit=True)
    outputs = init_codebook(attrs, data, missing, explicit=False)
    # The same call with the baseline's default values given explicitly (the request carries them):
    # equal bits unless a default changed.
    twin = init_codebook(attrs, data, missing, explicit=True)
    if "codebook" in twin:
        outputs["codebook_given_defaults"] = twin["codebook"]
    return outputs


MODULE_STATES = ("constructed", "after freeze()", "after unfreeze()", "trainable=False", "trainable=True")


def module_flags(make, missing, name):
    """(5, 2) int64: for each of MODULE_STATES, the module's `trainable` attribute (1/0, -1 when it
    has none) and whether all its parameters require grad (1/0, -1 when it has none). make(t) builds
    the module with trainable=t, or with its default when t is None."""
    import torch
    rows = []
    for state in MODULE_STATES:
        try:
            module = make({"trainable=False": False, "trainable=True": True}.get(state))
            if state == "after freeze()":
                module.freeze()
            elif state == "after unfreeze()":
                module.freeze()
                module.unfreeze()
        except Exception as error:
            missing.append(f"{name} {state} ({type(error).__name__})")
            rows.append([-2, -2])
            continue
        trainable = getattr(module, "trainable", None)
        parameters = list(module.parameters())
        rows.append([-1 if trainable is None else int(bool(trainable)),
                     -1 if not parameters else int(all(p.requires_grad for p in parameters))])
    return torch.tensor(rows, dtype=torch.int64)


def case_modules(attrs, data, missing, extra):
    d, k, n = int(attrs["d"]), int(attrs["k"]), int(attrs["codebook_size"])
    U_k = data["U_k"]
    def given(trainable):
        return {} if trainable is None else {"trainable": trainable}
    makers = {
        "LearnedLinearEncoder": lambda t: need("encoders", "LearnedLinearEncoder")(d, k, **given(t)),
        "LearnedLinearDecoder": lambda t: need("decoders", "LearnedLinearDecoder")(k, d, **given(t)),
        "PCAEncoder": lambda t: need("encoders", "PCAEncoder")(U_k, **given(t)),
        "PCADecoder": lambda t: need("decoders", "PCADecoder")(U_k, **given(t)),
        "VectorQuantizer": lambda t: need("quantizers", "VectorQuantizer")(k, n, **given(t)),
    }
    return {name: module_flags(make, missing, name) for name, make in makers.items()}


def tracker_metrics(tracker, indices, z, z_q, codebook, missing):
    """Every key the three MetricsTracker methods return, on these inputs."""
    returned = {}
    for name, args in (("compute_utilization_metrics", (indices,)),
                       ("compute_distortion_metrics", (z, z_q)),
                       ("compute_codebook_stats", (codebook,))):
        if not callable(getattr(tracker, name, None)):
            missing.append(f"MetricsTracker.{name}")
            continue
        result = getattr(tracker, name)(*args)
        if not isinstance(result, dict):
            raise TypeError(f"MetricsTracker.{name} returned {type(result).__name__}, not a dict")
        returned.update(result)
    return returned


def case_metrics(attrs, data, missing, extra):
    tracker = need("evaluation", "MetricsTracker")(int(attrs["codebook_size"]))
    returned = tracker_metrics(tracker, data["indices"], data["z"], data["z_q"], data["codebook"], missing)
    outputs = {}
    numbers(returned, METRIC_KEYS, outputs, missing)
    return outputs


def case_train(attrs, data, missing, extra):
    import torch
    defaults = defaults_call(attrs)
    beta = float(attrs["beta"])
    form = attrs["batch_form"]
    if form not in ("tensor", "pair"):
        raise ValueError(f"unknown batch_form '{form}' (expected tensor or pair)")
    model, encoder_weight, decoder_weight, quantizer = build_trained_model(data)
    trainer, _ = make_trainer(model, float(attrs["lr"]))
    train_step = method(trainer, "train_step", "Trainer")
    batches, targets = data["batches"], data.get("batch_targets")
    if form == "pair" and targets is None:
        raise ValueError("batch_form pair without the dataset batch_targets")
    losses, encoders, decoders, codebooks = [], [], [], []
    for s in range(batches.shape[0]):
        batch = (batches[s].clone(), targets[s].clone()) if form == "pair" else batches[s].clone()
        result = train_step(batch) if defaults else train_step(batch, beta=beta)
        losses.append(loss_row(result))
        encoders.append(encoder_weight.detach().clone())
        decoders.append(decoder_weight.detach().clone())
        codebooks.append(quantizer.codebook.detach().clone())
    outputs = {"encoder_weight": torch.stack(encoders), "decoder_weight": torch.stack(decoders),
               "codebook": torch.stack(codebooks)}
    if all(row is not None for row in losses):
        outputs["losses"] = torch.tensor(losses, dtype=torch.float64).reshape(len(losses), len(LOSS_KEYS))
    else:
        missing.append("losses (train_step did not return the dict of the four losses)")
    return outputs


def case_evaluate(attrs, data, missing, extra):
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    MetricsTracker = need("evaluation", "MetricsTracker")
    model, encoder_weight, decoder_weight, quantizer = build_trained_model(data)
    trainer, optimizer = make_trainer(model, float(attrs["lr"]))
    evaluate = method(trainer, "evaluate", "Trainer")
    method(trainer, "train_step", "Trainer")(data["train_batch"].clone(), beta=float(attrs["beta"]))
    outputs = {"evaluated_encoder_weight": encoder_weight.detach().clone(),
               "evaluated_decoder_weight": decoder_weight.detach().clone(),
               "evaluated_codebook": quantizer.codebook.detach().clone()}
    parameters = [p.detach().clone() for p in model.parameters()]
    state = optimizer_state(optimizer)
    torch.manual_seed(int(attrs["seed"]))
    result = evaluate(DataLoader(TensorDataset(data["X"], data["Y"]), batch_size=int(attrs["batch_size"]),
                                 shuffle=False),
                      MetricsTracker(int(attrs["codebook_size"])))
    rng_after = torch.rand(4)
    if not isinstance(result, dict):
        raise TypeError(f"Trainer.evaluate returned {type(result).__name__}, not a dict")
    numbers(result, ("recon_loss",) + METRIC_KEYS, outputs, missing)
    outputs["params_changed"] = scalar(max_abs_change(parameters, [p.detach() for p in model.parameters()]))
    outputs["optimizer_changed"] = scalar(optimizer_change(state, optimizer_state(optimizer)))
    outputs["rng_after"] = rng_after
    # The implementation's own MetricsTracker on the whole set at once (after rng_after: this is
    # the referee's measuring stick, not part of evaluate), so that evaluate is judged on
    # aggregating over the whole set, and the metrics' definitions by the `metrics` cases.
    try:
        with torch.no_grad():
            whole = model(data["X"])
            tracked = tracker_metrics(MetricsTracker(int(attrs["codebook_size"])), whole["indices"], whole["z"],
                                      whole["z_q"], quantizer.codebook, missing)
        tracker_outputs = {}
        numbers(tracked, METRIC_KEYS, tracker_outputs, missing)
        outputs.update({"tracker_" + key: value for key, value in tracker_outputs.items()})
    except Exception as error:  # evaluate's own outputs still count
        missing.append(f"MetricsTracker on the whole set ({type(error).__name__}: {error})".replace(",", ";"))
    return outputs


KINDS = {"dataset": case_dataset, "pca": case_pca_or_legacy, "legacy": case_pca_or_legacy,
         "quantizer": case_quantizer, "loss": case_loss, "model": case_model, "ste": case_ste,
         "init": case_init, "metrics": case_metrics, "train": case_train, "evaluate": case_evaluate,
         "modules": case_modules}


def run_case(case):
    attrs, data = case
    missing, extra = [], {}
    try:
        kind = attrs["kind"]
        if kind not in KINDS:
            return {"status": "error", "detail": f"unknown case kind '{kind}'"}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy model warns that it is deprecated
            outputs = KINDS[kind](attrs, data, missing, extra)
    except Missing as what:
        return {"status": "missing", "detail": f"no {what}", "missing": str(what).replace(",", ";")}, {}
    except Exception as error:  # the implementation failed on this case: report, go on
        return {"status": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]}, {}
    attrs_out = {"status": "ok", **extra}
    if missing:
        attrs_out["missing"] = ",".join(dict.fromkeys(entry.replace(",", ";") for entry in missing))
    return attrs_out, {key: as_tensor(value) for key, value in outputs.items()}


if __name__ == "__main__":
    main()
