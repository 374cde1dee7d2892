#include <vqvae/evaluation/metrics_log.h>

#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace vqvae {
namespace {

constexpr double kNotLogged = std::numeric_limits<double>::quiet_NaN();

}  // namespace

void MetricsLog::update(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  std::vector<double> row(keys_.size(), kNotLogged);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& key = values[i].first;
    if (key.empty() || key == "step" || key.find_first_of(",\n\r\"") != std::string::npos)
      throw_invalid_argument("MetricsLog.update", "a key must be a non-empty name other than 'step' without commas, got '" + key + "'");
    for (size_t j = 0; j < i; ++j)
      if (values[j].first == key) throw_invalid_argument("MetricsLog.update", "key '" + key + "' given twice");
    const auto found = std::find(keys_.begin(), keys_.end(), key);
    if (found == keys_.end()) {
      keys_.push_back(key);
      for (std::vector<double>& earlier : rows_) earlier.push_back(kNotLogged);
      row.push_back(values[i].second);
    } else {
      row[static_cast<size_t>(found - keys_.begin())] = values[i].second;
    }
  }
  steps_.push_back(step);
  rows_.push_back(std::move(row));
}

std::map<std::string, double> MetricsLog::final_metrics() const {
  std::map<std::string, double> out;
  for (size_t key = 0; key < keys_.size(); ++key)
    for (size_t row = rows_.size(); row-- > 0;)
      if (!std::isnan(rows_[row][key])) {
        out[keys_[key]] = rows_[row][key];
        break;
      }
  return out;
}

std::vector<double> MetricsLog::column(const std::string& key) const {
  const auto found = std::find(keys_.begin(), keys_.end(), key);
  std::vector<double> out(rows_.size(), kNotLogged);
  if (found == keys_.end()) return out;
  const size_t index = static_cast<size_t>(found - keys_.begin());
  for (size_t row = 0; row < rows_.size(); ++row) out[row] = rows_[row][index];
  return out;
}

std::string MetricsLog::to_csv() const {
  std::ostringstream out;
  out << "step";
  for (const std::string& key : keys_) out << "," << key;
  out << "\n";
  char number[32];
  for (size_t row = 0; row < rows_.size(); ++row) {
    out << steps_[row];
    for (const double value : rows_[row]) {
      out << ",";
      if (!std::isnan(value)) {
        std::snprintf(number, sizeof number, "%.17g", value);
        out << number;
      }
    }
    out << "\n";
  }
  return out.str();
}

MetricsLog MetricsLog::from_csv(const std::string& text, const std::string& source) {
  const std::vector<std::vector<std::string>> rows = csv_rows(text);
  if (rows.empty()) throw_invalid_argument(source, "empty: expected a header line 'step,KEY...'");
  const std::vector<std::string>& header = rows.front();
  if (std::find(header.begin(), header.end(), "step") == header.end())
    throw_invalid_argument(source, "line 1: no column 'step' in '" + joined(header, ",").substr(0, 80) + "'");
  MetricsLog log;
  for (const std::string& key : header)
    if (key != "step") log.keys_.push_back(key);
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& fields = rows[r];
    if (fields.size() == 1 && fields.front().empty()) continue;  // a blank line
    const std::string where = "line " + std::to_string(r + 1);
    if (fields.size() != header.size())
      throw_invalid_argument(source, where + ": " + std::to_string(fields.size()) + " fields, the header has " + std::to_string(header.size()));
    std::vector<double> row;
    int64_t step = 0;
    for (size_t i = 0; i < fields.size(); ++i) {
      double value = kNotLogged;
      if (!fields[i].empty()) {
        char* end = nullptr;
        value = std::strtod(fields[i].c_str(), &end);
        if (end == fields[i].c_str() || *end != '\0')
          throw_invalid_argument(source, where + ": '" + fields[i] + "' in column " + header[i] + " is not a number");
      }
      if (header[i] == "step") {
        if (!(value == std::floor(value))) throw_invalid_argument(source, where + ": step '" + fields[i] + "' is not an integer");
        step = static_cast<int64_t>(value);
      } else {
        row.push_back(value);
      }
    }
    log.steps_.push_back(step);
    log.rows_.push_back(std::move(row));
  }
  return log;
}

}  // namespace vqvae
