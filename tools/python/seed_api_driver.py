#!/usr/bin/python3
"""Conformance driver for a repository with the baseline's Python API (protocol version 3).

    /usr/bin/python3 tools/python/seed_api_driver.py --repo PATH REQUEST.h5 RESPONSE.h5

`vqvae conform --driver "/usr/bin/python3 tools/python/seed_api_driver.py --repo PATH"` runs it.
It imports the repository's package `src` the way BASELINE_FIXES.md's "Test after fixing" snippet
does (src.data.GaussianDataset, src.encoders.PCAEncoder / LearnedLinearEncoder,
src.decoders.PCADecoder / LearnedLinearDecoder, src.quantizers.VectorQuantizer /
RotationVectorQuantizer / ProjectionVectorQuantizer, src.models.VQVAE / LinearGaussianVQVAE,
src.training.losses.vqvae_loss, src.training.Trainer, src.initialization's codebook
initialisations, src.evaluation.MetricsTracker), runs every case of the request and writes what
came back. It judges nothing (the referee does) and never guesses a value: what the
implementation does not offer is written as missing — a module, class, function or method that
does not exist (status "missing", with the surface part it is in attribute "part"), an output it
does not return, a parameter its vqvae_loss does not take (attribute "missing") — and an
exception inside a case is that case's status "error"; where a case's outputs come from separate
calls (evaluate's second call and the steps after it, the tracker's rows, final metrics, file
and reload, a checkpoint's save, continued and resumed steps), an exception in a later call is
written as the attribute error_<output> and the outputs already made stay. The protocol
(docs/conform_protocol.md) says what each case kind computes.

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
os.environ.setdefault("MPLBACKEND", "Agg")  # the baseline's src.evaluation imports its plotting module

PROTOCOL_VERSION = 3

# The keys MetricsTracker's three methods return (protocol: the kind `metrics`).
METRIC_KEYS = ("perplexity", "dead_codes", "min_usage", "max_usage", "usage_std", "usage_entropy",
               "quantization_error", "quant_error_per_dim", "codebook_mean_norm",
               "codebook_std_norm", "codebook_mean_distance")
LOSS_KEYS = ("total", "recon", "codebook", "commitment")


class Missing(Exception):
    """The implementation lacks something a case needs (a module, a class, a function, a method);
    `part` is the part of the protocol's surface table that is absent, when it is one."""

    def __init__(self, what, part=None):
        super().__init__(what)
        self.part = part


def fail(message):
    print("seed_api_driver: " + message, file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="repository whose package `src` has the baseline's API")
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
    """src.<module>.<name>, or Missing whose part is name."""
    try:
        found = importlib.import_module("src." + module)
    except ImportError as error:
        raise Missing(f"src.{module} ({error})", part=name)
    if not hasattr(found, name):
        raise Missing(f"src.{module}.{name}", part=name)
    return getattr(found, name)


def method(instance, name, owner):
    """instance.name, or Missing naming owner.name (its part)."""
    found = getattr(instance, name, None)
    if not callable(found):
        raise Missing(f"{owner}.{name}", part=f"{owner}.{name}")
    return found


def one_line(error):
    """An exception as the protocol's one-line detail."""
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]


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


def make_quantizer(class_name, codebook, copy=True):
    """class_name(k, n, init_codebook=...) given a copy of codebook, or codebook itself (copy=False:
    the caller keeps the tensor, to read what training did to it)."""
    cls = need("quantizers", class_name)
    n, k = codebook.shape
    given = codebook.clone() if copy else codebook
    if accepts(cls.__init__, "init_codebook"):
        return cls(k, n, init_codebook=given)
    return cls(k, n, given)


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


MODULE_CHOICES = ("learned", "learned:frozen", "pca", "pca:trainable")


class Built:
    """The model of `train`, `evaluate` and `checkpoint` (docs/conform_protocol.md, "The model of
    train, evaluate and checkpoint") and its trainer. encoder_weight / decoder_weight: the learned
    module's one parameter of its shape (None for a PCA module); init_codebook: the tensor passed
    as the quantizer's init_codebook (the driver keeps it)."""

    def __init__(self, model, trainer, optimizer, quantizer, encoder_weight, decoder_weight, init_codebook):
        self.model, self.trainer, self.optimizer, self.quantizer = model, trainer, optimizer, quantizer
        self.encoder_weight, self.decoder_weight, self.init_codebook = encoder_weight, decoder_weight, init_codebook

    def snapshot(self):
        """The parameters the protocol reads after a step: encoder_weight (k, d) and decoder_weight
        (d, k) of learned modules, codebook (n, k)."""
        found = {"encoder_weight": self.encoder_weight, "decoder_weight": self.decoder_weight,
                 "codebook": self.quantizer.codebook}
        return {name: value.detach().clone() for name, value in found.items() if value is not None}


def set_one_parameter(module, shape, what, role, value):
    """The module's one parameter of this shape (whatever its name), set to value; Missing when it
    has not exactly one."""
    import torch
    found = [p for p in module.parameters() if tuple(p.shape) == shape]
    if len(found) != 1:
        raise Missing(f"{what}: the {role} has {len(found)} parameters of shape ({shape[0]}, {shape[1]})")
    with torch.no_grad():
        found[0].copy_(value)
    return found[0]


def build_model(attrs, data, prefix=""):
    """VQVAE(encoder, class(k, n, init_codebook=codebook), decoder) and Trainer(model, optimizer)
    from the request: attributes class (VectorQuantizer), encoder and decoder (learned,
    learned:frozen, pca, pca:trainable; learned by default), optimizer (adam or sgd) and lr; the
    datasets <prefix>encoder_weight (k, d), <prefix>decoder_weight (d, k) for learned modules, U_k
    (d, k) for PCA modules, <prefix>codebook (n, k). The optimizer is torch.optim.Adam(ps, lr) or
    torch.optim.SGD(ps, lr) over the parameters that require grad."""
    import torch
    encoder_kind, decoder_kind = attrs.get("encoder", "learned"), attrs.get("decoder", "learned")
    for role, kind in (("encoder", encoder_kind), ("decoder", decoder_kind)):
        if kind not in MODULE_CHOICES:
            raise ValueError(f"unknown {role} '{kind}' (expected one of {' '.join(MODULE_CHOICES)})")
    optimizer_kind = attrs.get("optimizer", "adam")
    if optimizer_kind not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer '{optimizer_kind}' (expected adam or sgd)")
    for role, kind in (("encoder", encoder_kind), ("decoder", decoder_kind)):
        name = prefix + role + "_weight" if kind.startswith("learned") else "U_k"
        if name not in data:
            raise ValueError(f"{role} {kind} without the dataset {name}")
    codebook = data[prefix + "codebook"]
    k = codebook.shape[1]
    if encoder_kind.startswith("learned"):
        d = data[prefix + "encoder_weight"].shape[1]
    elif decoder_kind.startswith("learned"):
        d = data[prefix + "decoder_weight"].shape[0]
    else:
        d = data["U_k"].shape[0]
    U_k = data["U_k"].clone() if "U_k" in data else None  # the model's own (a trainable PCA may train it)
    VQVAE, Trainer = need("models", "VQVAE"), need("training", "Trainer")

    def module(role, kind, learned_args, shape, shape_text):
        """The encoder or decoder of `kind`, and its weight parameter (learned) or None (PCA)."""
        package, suffix = role + "s", role.capitalize()
        if kind.startswith("learned"):
            cls = need(package, "LearnedLinear" + suffix)
            made = cls(*learned_args) if kind == "learned" else cls(*learned_args, trainable=False)
            return made, set_one_parameter(made, shape, f"{role} weight {shape_text}", role, data[prefix + role + "_weight"])
        cls = need(package, "PCA" + suffix)
        return (cls(U_k) if kind == "pca" else cls(U_k, trainable=True)), None

    encoder, encoder_weight = module("encoder", encoder_kind, (d, k), (k, d), "(k, d)")
    init_codebook = codebook.clone()
    quantizer = make_quantizer(attrs.get("class", "VectorQuantizer"), init_codebook, copy=False)
    decoder, decoder_weight = module("decoder", decoder_kind, (k, d), (d, k), "(d, k)")
    model = VQVAE(encoder, quantizer, decoder)
    trained = [p for p in model.parameters() if p.requires_grad]
    lr = float(attrs["lr"])
    optimizer = torch.optim.Adam(trained, lr=lr) if optimizer_kind == "adam" else torch.optim.SGD(trained, lr=lr)
    return Built(model, Trainer(model, optimizer), optimizer, quantizer, encoder_weight, decoder_weight,
                 init_codebook)


def record_steps(built, batches, step, prefix, outputs, missing, per_step=True):
    """step(batch) for each batch (it calls the implementation's train_step): prefix + losses, the
    four values each step returned, (S, 4) float64, and prefix + each parameter of built.snapshot()
    after each step, (S, ...); with per_step false (one batch), (4) and the parameters themselves."""
    import torch
    rows, snapshots = [], []
    for batch in batches:
        rows.append(loss_row(step(batch)))
        snapshots.append(built.snapshot())
    if any(row is None for row in rows):
        missing.append(f"{prefix}losses (train_step did not return the dict of the four losses)")
    else:
        losses = torch.tensor(rows, dtype=torch.float64)
        outputs[prefix + "losses"] = losses.reshape(len(rows), len(LOSS_KEYS)) if per_step else losses.reshape(len(LOSS_KEYS))
    for name in snapshots[0] if snapshots else ():
        outputs[prefix + name] = torch.stack([after[name] for after in snapshots]) if per_step else snapshots[-1][name]


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
    # The loader: with loader_seed (protocol 3), two epochs of one loader made after
    # torch.manual_seed(loader_seed), then one epoch of a new loader made after the same seed.
    seeded = "loader_seed" in attrs
    later = ["loader_x_epoch2", "loader_x_reseeded"] if seeded else []
    get_loader = getattr(dataset, "get_dataloader", None)
    if not callable(get_loader):
        missing += ["loader_x (no get_dataloader)", "loader_y", "loader_batch_sizes", *later,
                    "default_loader_batch_sizes"]
    elif not binds(get_loader, batch_size, shuffle=True):
        missing += ["loader_x (get_dataloader does not take batch_size and shuffle)", "loader_y",
                    "loader_batch_sizes", *later]
    else:
        width = outputs["X"].shape[1] if "X" in outputs else int(attrs["d"])
        if seeded:
            torch.manual_seed(int(attrs["loader_seed"]))
        loader = get_loader(batch_size, shuffle=True)
        xs, ys, sizes = loader_epoch(loader)
        outputs["loader_x"] = torch.cat(xs) if xs else torch.empty(0, width)
        if len(ys) == len(xs) and ys:
            outputs["loader_y"] = torch.cat(ys)
        elif xs:
            missing.append("loader_y (batches are not (x, y) pairs)")
        outputs["loader_batch_sizes"] = torch.tensor(sizes, dtype=torch.int64)
        if seeded:
            xs = loader_epoch(loader)[0]  # the same loader object's second epoch
            outputs["loader_x_epoch2"] = torch.cat(xs) if xs else torch.empty(0, width)
            torch.manual_seed(int(attrs["loader_seed"]))
            xs = loader_epoch(get_loader(batch_size, shuffle=True))[0]
            outputs["loader_x_reseeded"] = torch.cat(xs) if xs else torch.empty(0, width)
    if callable(get_loader):
        if binds(get_loader):
            firsts = loader_epoch(get_loader())[0]
            outputs["default_loader_batch_sizes"] = torch.tensor([len(x) for x in firsts], dtype=torch.int64)
            if firsts:
                outputs["default_loader_x"] = torch.cat(firsts)
        else:
            missing.append("default_loader_batch_sizes (get_dataloader() needs an argument)")
    return outputs


def loader_epoch(loader):
    """One epoch of a loader: its batches' x, y (when batches are (x, y) pairs) and sizes."""
    xs, ys, sizes = [], [], []
    for batch in loader:
        x, y = (batch[0], batch[1] if len(batch) > 1 else None) if isinstance(batch, (tuple, list)) \
            else (batch, None)
        xs.append(as_tensor(x))
        sizes.append(len(x))
        if y is not None:
            ys.append(as_tensor(y))
    return xs, ys, sizes


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
    defaults = defaults_call(attrs)
    beta = float(attrs["beta"])
    form = attrs["batch_form"]
    if form not in ("tensor", "pair"):
        raise ValueError(f"unknown batch_form '{form}' (expected tensor or pair)")
    built = build_model(attrs, data)
    train_step = method(built.trainer, "train_step", "Trainer")
    batches, targets = data["batches"], data.get("batch_targets")
    if form == "pair" and targets is None:
        raise ValueError("batch_form pair without the dataset batch_targets")
    step = (lambda batch: train_step(batch)) if defaults else (lambda batch: train_step(batch, beta=beta))
    outputs = {}
    record_steps(built, [(batches[s].clone(), targets[s].clone()) if form == "pair" else batches[s].clone()
                         for s in range(batches.shape[0])], step, "", outputs, missing)
    # The tensor the quantizer was given as init_codebook, as the caller holds it after training.
    outputs["init_codebook_after"] = built.init_codebook.detach().clone()
    return outputs


def evaluated_numbers(result, prefix, outputs, missing):
    """evaluate's returned dict as one (1) dataset per key, named prefix + key."""
    if not isinstance(result, dict):
        raise TypeError(f"Trainer.evaluate returned {type(result).__name__}, not a dict")
    made, lacking = {}, []
    numbers(result, ("recon_loss",) + METRIC_KEYS, made, lacking)
    outputs.update({prefix + key: value for key, value in made.items()})
    missing.extend(prefix + entry for entry in lacking)


def whole_set_tracker(built, X, codebook_size, MetricsTracker, outputs, missing):
    """tracker_<key>: a new MetricsTracker of the implementation's on the whole set at once, the
    model run in eval mode without gradient. The referee's measuring stick, not part of evaluate:
    the modes and torch's generator are restored after it, so that what follows (evaluate again,
    the step after) runs as if it had not been taken."""
    import torch
    modes = [(module, module.training) for module in built.model.modules()]
    rng = torch.get_rng_state()
    try:
        built.model.eval()
        with torch.no_grad():
            whole = built.model(X)
            tracked = tracker_metrics(MetricsTracker(codebook_size), whole["indices"], whole["z"],
                                      whole["z_q"], built.quantizer.codebook, missing)
        tracker_outputs = {}
        numbers(tracked, METRIC_KEYS, tracker_outputs, missing)
        outputs.update({"tracker_" + key: value for key, value in tracker_outputs.items()})
    except Exception as error:  # evaluate's own outputs still count
        missing.append(f"MetricsTracker on the whole set ({type(error).__name__}: {error})".replace(",", ";"))
    finally:
        for module, training in modes:
            module.training = training
        torch.set_rng_state(rng)


def step_after(built, batch, beta, prefix, outputs, missing):
    """One train_step(batch, beta): prefix + losses (4, float64) and the parameters after it."""
    train_step = method(built.trainer, "train_step", "Trainer")
    record_steps(built, [batch.clone()], lambda b: train_step(b, beta=beta), prefix, outputs, missing, per_step=False)


def case_evaluate(attrs, data, missing, extra):
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    MetricsTracker = need("evaluation", "MetricsTracker")
    beta, codebook_size = float(attrs["beta"]), int(attrs["codebook_size"])
    built = build_model(attrs, data)
    evaluate = method(built.trainer, "evaluate", "Trainer")
    train_step = method(built.trainer, "train_step", "Trainer")
    try:  # one step first, so that the optimizer has state (its failure is train_step's, not evaluate's)
        train_step(data["train_batch"].clone(), beta=beta)
    except Exception as error:
        extra["error_setup"] = one_line(error)
    outputs = {"evaluated_" + name: value for name, value in built.snapshot().items()}
    parameters = [p.detach().clone() for p in built.model.parameters()]
    state = optimizer_state(built.optimizer)
    torch.manual_seed(int(attrs["seed"]))
    loader = DataLoader(TensorDataset(data["X"], data["Y"]), batch_size=int(attrs["batch_size"]), shuffle=False)
    tracker = MetricsTracker(codebook_size)
    result = evaluate(loader, tracker)
    rng_after = torch.rand(4)
    evaluated_numbers(result, "", outputs, missing)
    outputs["params_changed"] = scalar(max_abs_change(parameters, [p.detach() for p in built.model.parameters()]))
    outputs["optimizer_changed"] = scalar(optimizer_change(state, optimizer_state(built.optimizer)))
    outputs["rng_after"] = rng_after
    # The implementation's own MetricsTracker on the whole set at once, on the parameters the first
    # evaluate left, so that evaluate is judged on aggregating over the whole set (and the metrics'
    # definitions by the `metrics` cases).
    whole_set_tracker(built, data["X"], codebook_size, MetricsTracker, outputs, missing)
    # Later stages: each one's exception is written as error_<stage>; the outputs made stay.
    try:  # evaluate again, with the same loader and tracker, as a training loop calls it, from the
        # same generator state (so that only state carried across calls can change its values)
        torch.manual_seed(int(attrs["seed"]))
        evaluated_numbers(evaluate(loader, tracker), "second_", outputs, missing)
    except Exception as error:
        extra["error_second"] = one_line(error)
    try:  # the training step that follows the evaluations
        step_after(built, data["train_batch_after"], beta, "after_", outputs, missing)
    except Exception as error:
        extra["error_after"] = one_line(error)
    try:  # the twin: the same two steps, no evaluation between
        twin = build_model(attrs, data)
        method(twin.trainer, "train_step", "Trainer")(data["train_batch"].clone(), beta=beta)
        step_after(twin, data["train_batch_after"], beta, "twin_", outputs, missing)
    except Exception as error:
        extra["error_twin"] = one_line(error)
    return outputs


# ---------------------------------------------------------------- the logging path
def entry_value(value):
    """One stored tracker entry as a float: None (and NaN) as NaN."""
    import torch
    if value is None:
        return math.nan
    if torch.is_tensor(value):
        return float(value.detach().reshape(-1)[0]) if value.numel() == 1 else float(value)
    return float(value)


def is_sequence(value):
    import numpy
    import torch
    return isinstance(value, (list, tuple, numpy.ndarray)) or torch.is_tensor(value) \
        or (type(value).__module__.startswith("pandas") and hasattr(value, "tolist"))


def tracker_columns(tracker):
    """The tracker's stored rows as {column: [entries]}, reading `metrics` as a dict of lists (a
    column per key), a list of row dicts (an entry a row lacks is None) or a pandas DataFrame;
    None (with a reason) for anything else."""
    metrics = getattr(tracker, "metrics", None)
    if metrics is None:
        return None, "MetricsTracker has no attribute metrics"
    kind = type(metrics)
    if kind.__module__.startswith("pandas") and hasattr(metrics, "to_dict") and hasattr(metrics, "columns"):
        return {str(key): list(column) for key, column in metrics.to_dict(orient="list").items()}, None
    if isinstance(metrics, dict) and all(is_sequence(column) for column in metrics.values()):
        return {str(key): list(column.tolist() if hasattr(column, "tolist") else column)
                for key, column in metrics.items()}, None
    if isinstance(metrics, (list, tuple)) and all(isinstance(row, dict) for row in metrics):
        keys = list(dict.fromkeys(str(key) for row in metrics for key in row))
        return {key: [next((v for k, v in row.items() if str(k) == key), None) for row in metrics]
                for key in keys}, None
    inner = ""
    if isinstance(metrics, dict) and metrics:
        inner = " of " + type(next(iter(metrics.values()))).__name__
    elif isinstance(metrics, (list, tuple)) and metrics:
        inner = " of " + type(metrics[0]).__name__
    return None, f"MetricsTracker.metrics is {kind.__name__}{inner}"


def read_rows(tracker, keys, prefix, outputs, missing):
    """prefix + rows_<key> (L) float64 for each key the tracker stores, and prefix + rows_step
    where it keeps a column named step."""
    import torch
    columns, why = tracker_columns(tracker)
    if columns is None:
        missing.append(f"{prefix}rows ({why})")
        return
    for key in list(keys) + ["step"]:
        if key in columns:
            outputs[f"{prefix}rows_{key}"] = torch.tensor([entry_value(v) for v in columns[key]], dtype=torch.float64)
        elif key != "step":
            missing.append(f"{prefix}rows_{key} (no column {key})")


def read_final(tracker, keys, prefix, outputs, missing):
    """prefix + final (K) float64 = get_final_metrics()[key] (NaN for None or an absent key) and
    prefix + final_has (K) int64."""
    import torch
    get_final = getattr(tracker, "get_final_metrics", None)
    if not callable(get_final):
        missing.append(f"{prefix}final (no MetricsTracker.get_final_metrics)")
        return
    final = get_final()
    if not isinstance(final, dict):
        raise TypeError(f"MetricsTracker.get_final_metrics returned {type(final).__name__}, not a dict")
    outputs[prefix + "final"] = torch.tensor([entry_value(final[key]) if key in final else math.nan for key in keys],
                                             dtype=torch.float64)
    outputs[prefix + "final_has"] = torch.tensor([int(key in final) for key in keys], dtype=torch.int64)


def case_tracker(attrs, data, missing, extra):
    import tempfile
    import numpy
    import torch
    MetricsTracker = need("evaluation", "MetricsTracker")
    codebook_size = int(attrs["codebook_size"])
    keys = [key for key in attrs.get("keys", "").split(",") if key]
    steps, values = data["steps"], data["values"].reshape(len(data["steps"]), len(keys))
    tracker = MetricsTracker(codebook_size)
    update = method(tracker, "update", "MetricsTracker")
    for r in range(len(steps)):
        logged = {key: float(values[r, j]) for j, key in enumerate(keys) if not math.isnan(float(values[r, j]))}
        update(int(steps[r]), **logged)
    outputs = {}
    for stage, read in (("rows", read_rows), ("final", read_final)):
        try:
            read(tracker, keys, "", outputs, missing)
        except Exception as error:
            extra[f"error_{stage}"] = one_line(error)
    save = getattr(tracker, "save", None)
    if not callable(save):
        missing += ["saved (no MetricsTracker.save)", "loaded_rows (no MetricsTracker.save)"]
        return outputs
    with tempfile.TemporaryDirectory(prefix="seed-api-driver-") as folder:
        path = os.path.join(folder, "metrics.csv")
        try:
            save(path)
        except Exception as error:
            extra["error_saved"] = one_line(error)
            extra["error_loaded"] = "not run: MetricsTracker.save raised"
            return outputs
        if not os.path.isfile(path):
            missing += ["saved (save wrote no file at the path it was given)", "loaded_rows (no file)"]
            return outputs
        with open(path, "rb") as f:
            outputs["saved"] = torch.from_numpy(numpy.frombuffer(f.read(), dtype=numpy.uint8).copy())
        try:
            loaded = MetricsTracker(codebook_size)
            load = method(loaded, "load", "MetricsTracker")
        except Missing:
            missing.append("loaded_rows (no MetricsTracker.load)")
            return outputs
        try:
            load(path)
            read_rows(loaded, keys, "loaded_", outputs, missing)
            read_final(loaded, keys, "loaded_", outputs, missing)
        except Exception as error:
            extra["error_loaded"] = one_line(error)
    return outputs


def checkpoint_keys(path):
    """The sorted keys of torch.load(path), comma-separated, when it is a dict; else its type's name."""
    import torch
    loaded = torch.load(path, map_location="cpu")
    if isinstance(loaded, dict):
        return ",".join(sorted(str(key) for key in loaded))
    return type(loaded).__name__


def case_checkpoint(attrs, data, missing, extra):
    import tempfile
    beta, first = float(attrs["beta"]), int(attrs["steps_before"])
    batches = data["batches"]
    if not 0 <= first <= batches.shape[0]:
        raise ValueError(f"steps_before {first} outside [0, {batches.shape[0]}]")
    a = build_model(attrs, data)
    train_step = method(a.trainer, "train_step", "Trainer")
    save = method(a.trainer, "save_checkpoint", "Trainer")
    b = build_model(attrs, data, prefix="other_")  # another state, a fresh optimizer
    load = method(b.trainer, "load_checkpoint", "Trainer")
    for s in range(first):
        train_step(batches[s].clone(), beta=beta)
    outputs = {}

    def steps(built, prefix, stage):
        """The steps after the save, on `built`; a stage that raises writes no partial outputs."""
        made = {}
        step = method(built.trainer, "train_step", "Trainer")
        try:
            record_steps(built, [batch.clone() for batch in batches[first:]], lambda b: step(b, beta=beta), prefix, made, missing)
        except Exception as error:
            extra[f"error_{stage}"] = one_line(error)
            return
        outputs.update(made)

    with tempfile.TemporaryDirectory(prefix="seed-api-driver-") as folder:
        path = os.path.join(folder, "checkpoint.pt")
        try:
            save(path)
            saved = os.path.isfile(path)
        except Exception as error:
            extra["error_saved"] = one_line(error)
            saved = False
        if saved:
            try:
                extra["checkpoint_keys"] = checkpoint_keys(path)
            except Exception as error:
                missing.append(f"checkpoint_keys (torch.load raised {type(error).__name__})")
        elif "error_saved" not in extra:
            missing.append("checkpoint_keys (save_checkpoint wrote no file at the path it was given)")
        steps(a, "continued_", "continued")
        if "error_saved" in extra:
            extra["error_resumed"] = "not run: Trainer.save_checkpoint raised"
            return outputs
        try:
            load(path)
        except Exception as error:
            extra["error_resumed"] = one_line(error)
            return outputs
        steps(b, "resumed_", "resumed")
    return outputs


# ---------------------------------------------------------------- the surface
# Where the baseline API has each class and function of the protocol's surface table.
SURFACE = {
    "GaussianDataset": "data",
    "PCAEncoder": "encoders", "LearnedLinearEncoder": "encoders",
    "PCADecoder": "decoders", "LearnedLinearDecoder": "decoders",
    "VectorQuantizer": "quantizers", "RotationVectorQuantizer": "quantizers",
    "ProjectionVectorQuantizer": "quantizers",
    "VQVAE": "models", "LinearGaussianVQVAE": "models",
    "vqvae_loss": "training.losses",
    "Trainer": "training",
    "MetricsTracker": "evaluation",
    "uniform_init": "initialization", "random_normal_init": "initialization", "kmeans_init": "initialization",
    "compute_rd_variance": "initialization", "rd_gaussian_init": "initialization",
}


def case_surface(attrs, data, missing, extra):
    """present (P) int64: 1 when the part is there (a module's class or function; Class.method: the
    class has a callable attribute method), else 0; a part no table row names is 0, and noted."""
    import torch
    present = []
    for part in [part for part in attrs.get("parts", "").split(",") if part]:
        owner, _, member = part.partition(".")
        if owner not in SURFACE:
            missing.append(f"{part} (not a part of the surface table)")
            present.append(0)
            continue
        try:
            module = importlib.import_module("src." + SURFACE[owner])
        except Exception as error:  # ImportError, or the module raised while importing
            missing.append(f"{part} (src.{SURFACE[owner]}: {type(error).__name__}: {error})".splitlines()[0][:200])
            present.append(0)
            continue
        found = getattr(module, owner, None)
        if member:
            found = getattr(found, member, None) if found is not None else None
            present.append(int(callable(found)))
        else:
            present.append(int(hasattr(module, owner)))
    return {"present": torch.tensor(present, dtype=torch.int64)}


KINDS = {"surface": case_surface, "dataset": case_dataset, "pca": case_pca_or_legacy,
         "legacy": case_pca_or_legacy, "quantizer": case_quantizer, "loss": case_loss,
         "model": case_model, "ste": case_ste, "init": case_init, "metrics": case_metrics,
         "tracker": case_tracker, "train": case_train, "evaluate": case_evaluate,
         "checkpoint": case_checkpoint, "modules": case_modules}


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
        attrs_out = {"status": "missing", "detail": f"no {what}", "missing": str(what).replace(",", ";")}
        if what.part:
            attrs_out["part"] = what.part
        return attrs_out, {}
    except Exception as error:  # the implementation failed on this case: report, go on
        return {"status": "error", "detail": one_line(error)}, {}
    attrs_out = {"status": "ok", **extra}
    if missing:
        attrs_out["missing"] = ",".join(dict.fromkeys(entry.replace(",", ";") for entry in missing))
    return attrs_out, {key: as_tensor(value) for key, value in outputs.items()}


if __name__ == "__main__":
    main()
