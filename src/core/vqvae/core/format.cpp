#include <vqvae/core/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vqvae {
namespace {

std::string printed(const char* format, int digits, double value) {
  if (std::isnan(value)) return "nan";  // printf may write "-nan"
  char buffer[512];                      // %.<d>f of 1e308 needs 310 characters
  std::snprintf(buffer, sizeof buffer, format, digits, value);
  return buffer;
}

}  // namespace

std::string format_significant(double value, int significant) { return printed("%.*g", significant, value); }

std::string format_fixed(double value, int decimals) { return printed("%.*f", decimals, value); }

std::string format_signed_fixed(double value, int decimals) {
  return (value >= 0 ? "+" : "") + format_fixed(value, decimals);
}

size_t utf8_length(const std::string& text) {
  size_t length = 0;
  for (const unsigned char c : text) length += (c & 0xC0) != 0x80;  // UTF-8 continuation bytes are 10xxxxxx
  return length;
}

std::string padded(const std::string& text, size_t width) {
  const size_t length = utf8_length(text);
  return text + std::string(width > length ? width - length : 1, ' ');
}

std::string format_bytes(double bytes) {
  if (!(bytes > 0)) return "0 B";
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  if (unit == 0) return printed("%.*f", 0, bytes) + " B";
  return (bytes >= 100 ? printed("%.*f", 0, bytes) : format_significant(bytes, 3)) + " " + units[unit];
}

std::string in_quotes(std::string_view text) {
  std::string out = "'";
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", byte);
          out += escape;
        } else {
          out += ch;
        }
    }
  }
  return out + "'";
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find(separator, start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      fields.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(fields));
      fields.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !fields.empty()) {
    fields.push_back(std::move(field));
    rows.push_back(std::move(fields));
  }
  return rows;
}

std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return out;
}

std::string format_duration(double seconds) {
  const int64_t total = seconds > 0 ? static_cast<int64_t>(std::llround(seconds)) : 0;
  const auto two = [](int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (total < 60) return std::to_string(total) + " s";
  if (total < 3600) return std::to_string(total / 60) + " min " + two(total % 60) + " s";
  const int64_t minutes = (total + 30) / 60;
  return std::to_string(minutes / 60) + " h " + two(minutes % 60) + " min";
}

}  // namespace vqvae
