// Internal to `vqvae conform`: execute_with_library (protocol.h) runs each case kind on this
// library in two files — library.cpp the kinds that hold no state across calls, and the dispatch;
// library_training.cpp the kinds that train (train, evaluate, checkpoint) and the logging path
// (tracker) — and these are the pieces they share.
#pragma once

#include <vqvae/conform/protocol.h>
#include <vqvae/quantizers/base.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vqvae::conform::library {

/// The integer or real attribute `name` of a request (std::bad_variant_access for another type).
int64_t integer(const GoldenRecord& r, const std::string& name);
double real(const GoldenRecord& r, const std::string& name);
/// `call = "defaults"`: the function is called without the arguments that have defaults.
bool defaults_call(const GoldenRecord& r);
/// The quantizer class of that name (kQuantizerClasses) on `codebook`, passed as init_codebook.
QuantizerPtr make_class(const std::string& name, const at::Tensor& codebook);
/// A one-element float64 output.
at::Tensor scalar(double value);
/// MetricsTracker's values (kMetricKeys, in order) of a quantization, each named `prefix`key.
void add_metrics(const at::Tensor& indices, int64_t n, const at::Tensor& z, const at::Tensor& z_q,
                 const at::Tensor& codebook, std::vector<std::pair<std::string, at::Tensor>>& out,
                 const std::string& prefix = "");

/// The case kinds that carry state across calls (docs/conform_protocol.md), their outputs into `out`.
void run_train(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out);
void run_evaluate(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out);
/// Adds the attribute checkpoint_keys to `attributes`.
void run_checkpoint(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out,
                    std::vector<std::pair<std::string, GoldenValue>>& attributes);
void run_tracker(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out);

}  // namespace vqvae::conform::library
