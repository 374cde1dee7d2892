#include <vqvae/conform/protocol.h>

#include <vqvae/core/errors.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>

#include <ATen/ATen.h>

#include <memory>

namespace vqvae {
namespace {


}  // namespace

ConformCaseKind case_kind(const GoldenRecord& request) {
  return parse_choice(kConformCaseKinds, request_text(request, "kind"), "conform case '" + request.name + "': kind");
}

void write_conform_request(const std::string& path, const std::vector<GoldenRecord>& cases, const std::string& command) {
  Hdf5Writer file(path);
  file.create_group("cases");
  for (const GoldenRecord& c : cases) write_record_group(file, "cases/" + c.name, c);
  file.write_attribute("/", "protocol", std::string(kConformProtocolName));
  file.write_attribute("/", "protocol_version", kConformProtocolVersion);
  write_provenance(file, command);
  file.commit();
}

namespace {

std::vector<GoldenRecord> read_cases(const std::string& path, const Hdf5Reader& file) {
  std::vector<GoldenRecord> cases;
  std::vector<std::string> names;
  try {
    names = file.list("cases");
  } catch (const Hdf5Error&) {
    throw ConformProtocolError(path + ": no group /cases (not a conform file?)");
  }
  for (const std::string& name : names) {
    try {
      cases.push_back(read_record_group(file, "cases/" + name));
    } catch (const Hdf5Error& e) {
      throw ConformProtocolError(std::string(e.what()) + " (case '" + name + "')");
    }
  }
  return cases;
}

int64_t protocol_version(const std::string& path, const Hdf5Reader& file) {
  try {
    return file.read_int_attribute("/", "protocol_version");
  } catch (const Hdf5Error&) {
    throw ConformProtocolError(path + ": no integer attribute protocol_version on /");
  }
}

}  // namespace

std::vector<GoldenRecord> read_conform_request(const std::string& path) {
  try {
    Hdf5Reader file(path);
    if (protocol_version(path, file) != kConformProtocolVersion)
      throw ConformProtocolError(path + ": protocol_version " + std::to_string(protocol_version(path, file)) +
                                 ", this program speaks " + std::to_string(kConformProtocolVersion));
    return read_cases(path, file);
  } catch (const Hdf5Error& e) {
    throw ConformProtocolError(e.what());
  }
}

void write_conform_response(const std::string& path, const std::vector<GoldenRecord>& cases, const std::string& driver) {
  Hdf5Writer file(path);
  file.create_group("cases");
  for (const GoldenRecord& c : cases) write_record_group(file, "cases/" + c.name, c);
  file.write_attribute("/", "protocol_version", kConformProtocolVersion);
  file.write_attribute("/", "driver", driver);
  file.commit();
}

std::map<std::string, GoldenRecord> read_conform_response(const std::string& path, std::string& driver) {
  std::map<std::string, GoldenRecord> out;
  try {
    Hdf5Reader file(path);
    const int64_t version = protocol_version(path, file);
    if (version != kConformProtocolVersion)
      throw ConformProtocolError(path + ": protocol_version " + std::to_string(version) + ", this program speaks " +
                                 std::to_string(kConformProtocolVersion));
    try {
      driver = file.read_string_attribute("/", "driver");
    } catch (const Hdf5Error&) {
      driver = "(driver unnamed)";
    }
    for (GoldenRecord& c : read_cases(path, file)) {
      try {
        const std::string& status = request_text(c, "status");
        if (status != "ok" && status != "missing" && status != "error")
          throw ConformProtocolError(path + ": case '" + c.name + "': status must be ok, missing or error, got '" +
                                     status + "'");
      } catch (const std::bad_variant_access&) {
        throw ConformProtocolError(path + ": case '" + c.name + "': status is not a string");
      } catch (const std::out_of_range&) {
        throw ConformProtocolError(path + ": case '" + c.name + "' has no status attribute");
      }
      out.emplace(c.name, std::move(c));
    }
  } catch (const Hdf5Error& e) {
    throw ConformProtocolError(e.what());
  }
  return out;
}

const std::string& request_text(const GoldenRecord& r, const std::string& name) {
  return std::get<std::string>(r.attribute(name));
}

}  // namespace vqvae
