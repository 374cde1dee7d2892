#include <vqvae/core/errors.h>

namespace vqvae {
namespace {

// ASCII record/unit separators around a marked name: control characters that user-supplied text
// in a message never carries raw (file names and JSON values are quoted with escapes).
constexpr char kOpen = '\x1e';
constexpr char kClose = '\x1f';

std::string render(const std::string& marked, const std::function<std::string(std::string_view)>& spell) {
  std::string out;
  out.reserve(marked.size());
  size_t at = 0;
  while (at < marked.size()) {
    const size_t open = marked.find(kOpen, at);
    const size_t close = open == std::string::npos ? open : marked.find(kClose, open);
    if (close == std::string::npos) {
      out.append(marked, at, std::string::npos);
      break;
    }
    out.append(marked, at, open - at);
    const std::string_view name(marked.data() + open + 1, close - open - 1);
    out += spell ? spell(name) : std::string(name);
    at = close + 1;
  }
  return out;
}

}  // namespace

std::string param(std::string_view name) {
  return std::string(1, kOpen) + std::string(name) + std::string(1, kClose);
}

InvalidArgument::InvalidArgument(const std::string& marked)
    : std::invalid_argument(render(marked, nullptr)), marked_(marked) {}

std::string InvalidArgument::message(const std::function<std::string(std::string_view)>& spell) const {
  return render(marked_, spell);
}

std::string spell_params(const std::string& marked, const std::function<std::string(std::string_view)>& spell) {
  return render(marked, spell);
}

void throw_invalid_argument(const std::string& where, const std::string& message) {
  throw InvalidArgument(where + ": " + message);
}

}  // namespace vqvae
