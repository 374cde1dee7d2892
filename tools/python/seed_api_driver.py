#!/usr/bin/python3
"""Conformance driver for a repository with the seed's Python API (protocol version 1).

    /usr/bin/python3 tools/python/seed_api_driver.py --repo PATH REQUEST.h5 RESPONSE.h5

`vqvae conform --driver "/usr/bin/python3 tools/python/seed_api_driver.py --repo PATH"` runs it.
It imports the repository's package `src` the way BASELINE_FIXES.md's "Test after fixing" snippet
does (src.data.GaussianDataset, src.encoders.PCAEncoder, src.decoders.PCADecoder,
src.quantizers.VectorQuantizer / RotationVectorQuantizer / ProjectionVectorQuantizer,
src.models.VQVAE / LinearGaussianVQVAE, src.training.losses.vqvae_loss), runs every case of the
request and writes what came back. It judges nothing (the referee does) and never guesses a
value: what the implementation does not offer is written as missing — a class that does not
exist (status "missing"), an output it does not return, a parameter its vqvae_loss does not take
(attribute "missing") — and an exception inside a case is that case's status "error". The
protocol (docs/conform_protocol.md) says what each case kind computes.

Needs Debian's python3-torch and python3-h5py (Debian's /usr/bin/python3). Runs on one thread,
as the referee does, so that the same implementation gives the same bits.
"""
import argparse
import importlib
import inspect
import os
import sys
import warnings

# One BLAS thread before torch loads: OpenBLAS's pool is not reached by torch.set_num_threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PROTOCOL_VERSION = 1


class Missing(Exception):
    """The implementation lacks something a case needs (a module, a class, an attribute)."""


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
    import torch
    with h5py.File(path, "r") as f:
        version = int(f.attrs["protocol_version"])
        if version != PROTOCOL_VERSION:
            fail(f"{path}: protocol_version {version}, this driver speaks {PROTOCOL_VERSION}")
        cases = {}
        for name, group in f["cases"].items():
            attrs = {key: (text(value) if isinstance(value, (bytes, str)) else value.item())
                     for key, value in group.attrs.items()}
            data = {key: torch.from_numpy(group[key][()]) for key in group.keys()}
            cases[name] = (attrs, data)
        return cases


def write_response(path, responses):
    import h5py
    import numpy
    temporary = path + ".tmp"
    with h5py.File(temporary, "w") as f:
        f.attrs["protocol_version"] = numpy.int64(PROTOCOL_VERSION)
        f.attrs["driver"] = numpy.bytes_("seed_api_driver.py (protocol 1)")
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


def accepts(function, parameter):
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


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
    """vqvae_loss as the implementation defines it: with z_q_hard when it takes it."""
    vqvae_loss = need("training.losses", "vqvae_loss")
    if accepts(vqvae_loss, "z_q_hard") and z_q_hard is not None:
        return vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta=beta)
    if not accepts(vqvae_loss, "z_q_hard"):
        missing.append("z_q_hard parameter of vqvae_loss")
    return vqvae_loss(x, x_recon, z, z_q, beta=beta)


def grad_or_zeros(tensor):
    import torch
    return tensor.grad.detach().clone() if tensor.grad is not None else torch.zeros_like(tensor)


def leaf(tensor, requires_grad):
    return tensor.detach().clone().requires_grad_(requires_grad)


def run_case(case):
    import torch
    attrs, data = case
    missing, outputs, extra = [], {}, {}
    try:
        kind = attrs["kind"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy model warns that it is deprecated
            if kind == "dataset":
                GaussianDataset = need("data", "GaussianDataset")
                torch.manual_seed(int(attrs["seed"]))
                dataset = GaussianDataset(d=int(attrs["d"]), k=int(attrs["k"]), sigma_noise=float(attrs["sigma_noise"]),
                                          n_samples=int(attrs["n"]), seed=int(attrs["seed"]))
                outputs = {"X": dataset.X, "U_k": dataset.U_k}
            elif kind in ("pca", "legacy"):
                U_k, x, z = data["U_k"], data["x"], data["z"]
                with torch.no_grad():
                    if kind == "pca":
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
            elif kind == "quantizer":
                quantizer = make_quantizer(attrs["class"], data["codebook"])
                z = leaf(data["z"], bool(attrs["z_requires_grad"]))
                z_q, indices, info = quantize(quantizer, z)
                outputs.update(z_q=z_q, indices=indices.to(torch.int64))
                z_q_hard = info.get("z_q_hard")
                if z_q_hard is None:
                    missing.append("z_q_hard")
                else:
                    outputs["z_q_hard"] = z_q_hard
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
            elif kind == "loss":
                x = data["x"]
                x_recon, z = leaf(data["x_recon"], True), leaf(data["z"], True)
                z_q, z_q_hard = leaf(data["z_q"], True), leaf(data["z_q_hard"], True)
                total, values = loss_of(x, x_recon, z, z_q, z_q_hard, float(attrs["beta"]), missing)
                total.backward()
                outputs["losses"] = torch.tensor([float(total), float(values["recon"]), float(values["codebook"]),
                                                  float(values["commitment"])], dtype=torch.float64)
                outputs.update(grad_x_recon=grad_or_zeros(x_recon), grad_z=grad_or_zeros(z), grad_z_q=grad_or_zeros(z_q))
                if "z_q_hard parameter of vqvae_loss" not in missing:
                    outputs["grad_z_q_hard"] = grad_or_zeros(z_q_hard)
            elif kind == "model":
                U_k, x = data["U_k"], data["x"]
                quantizer = make_quantizer(attrs["class"], data["codebook"])
                model = need("models", "VQVAE")(need("encoders", "PCAEncoder")(U_k), quantizer,
                                                 need("decoders", "PCADecoder")(U_k))
                out = model(x)
                extra["output_keys"] = ",".join(out.keys())
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
            elif kind == "ste":
                quantizer = make_quantizer(attrs["class"], data["codebook"])
                decoder = need("decoders", "PCADecoder")(data["U_k"])
                for requires_grad, name in ((False, "codebook_grad_z_frozen"), (True, "codebook_grad_z_trainable")):
                    quantizer.codebook.grad = None
                    z = leaf(data["z"], requires_grad)
                    z_q, _, info = quantize(quantizer, z)
                    total, _ = loss_of(data["x"], decoder(z_q), z, z_q, info.get("z_q_hard"),
                                       float(attrs["beta"]), missing)
                    if total.requires_grad:
                        total.backward()
                    outputs[name] = grad_or_zeros(quantizer.codebook)
            else:
                return {"status": "error", "detail": f"unknown case kind '{kind}'"}, {}
    except Missing as what:
        return {"status": "missing", "detail": f"no {what}", "missing": str(what)}, {}
    except Exception as error:  # the implementation failed on this case: report, go on
        return {"status": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]}, {}
    attrs_out = {"status": "ok", **extra}
    if missing:
        attrs_out["missing"] = ",".join(dict.fromkeys(missing))
    return attrs_out, {key: value.detach() for key, value in outputs.items()}


if __name__ == "__main__":
    main()
