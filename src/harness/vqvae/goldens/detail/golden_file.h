// Internal to the golden-file mechanism (golden_file.h), which is two files — golden_file.cpp
// (records, writing and reading a file against its schema) and golden_compare.cpp (comparing a
// file with what the code computes now, the report, regeneration) — and what they share.
#pragma once

#include <vqvae/io/hdf5_file.h>

#include <memory>
#include <string>
#include <vector>

namespace vqvae::golden {

/// Opens a golden file, adding to the reader's one-line error what to do about it.
std::unique_ptr<Hdf5Reader> open_golden(const std::string& path);

/// Whether `names` holds `name`.
bool contains(const std::vector<std::string>& names, const std::string& name);

/// The names joined with ", ", or "none".
std::string joined_or_none(const std::vector<std::string>& names);

}  // namespace vqvae::golden
