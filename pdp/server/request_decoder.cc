#include "pdp/server/request_decoder.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/wire_format_lite.h"

namespace pdp::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Deeper nesting than any pdp.v1 request has; protobuf's own limit is 100.
constexpr int kMaxDepth = 32;

// Finds the first string field of `type` (at `path`, "" or "chain.") whose
// bytes are not valid UTF-8, walking the wire data of `in` up to its limit.
// Returns "" when there is none, a sentence otherwise. Malformed wire data
// is left for the parser to refuse.
std::string FindInvalidUtf8(const char* base, CodedInputStream& in,
                            const Descriptor& type, const std::string& path,
                            int depth) {
  if (depth > kMaxDepth) return "";
  std::map<int, int> seen;  // Entries of each repeated field so far.
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return "";
    const FieldDescriptor* field =
        type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool delimited = WireFormatLite::GetTagWireType(tag) ==
                           WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field == nullptr || !delimited ||
        (field->type() != FieldDescriptor::TYPE_STRING &&
         field->type() != FieldDescriptor::TYPE_MESSAGE)) {
      if (!WireFormatLite::SkipField(&in, tag)) return "";
      continue;
    }
    std::string name = absl::StrCat(path, field->name());
    if (field->is_repeated()) {
      absl::StrAppend(&name, "[", seen[field->number()]++, "]");
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return "";
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      const int start = in.CurrentPosition();
      if (!in.Skip(static_cast<int>(length))) return "";
      if (!google::protobuf::internal::IsStructurallyValidUTF8(
              base + start, static_cast<int>(length))) {
        return absl::StrCat(name, " (field ", field->number(),
                            ") is not valid UTF-8");
      }
      continue;
    }
    const CodedInputStream::Limit limit =
        in.PushLimit(static_cast<int>(length));
    std::string found = FindInvalidUtf8(base, in, *field->message_type(),
                                        absl::StrCat(name, "."), depth + 1);
    if (!found.empty()) return found;
    if (!in.ConsumedEntireMessage() && in.BytesUntilLimit() > 0) {
      if (!in.Skip(in.BytesUntilLimit())) return "";
    }
    in.PopLimit(limit);
  }
}

}  // namespace

absl::Status DecodeRequest(const grpc::ByteBuffer& body,
                           google::protobuf::Message* request) {
  request->Clear();
  const std::string type = request->GetDescriptor()->full_name();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!body.Dump(&slices).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body is not a valid ", type,
                     ": it cannot be read"));
  }
  bytes.reserve(body.Length());
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  const std::string invalid = FindInvalidUtf8(
      bytes.data(), in, *request->GetDescriptor(), "", /*depth=*/0);
  if (!invalid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body is not a valid ", type, ": ", invalid));
  }
  if (!request->ParseFromString(bytes)) {
    request->Clear();
    return absl::InvalidArgumentError(
        absl::StrCat("request body is not a valid ", type,
                     ": malformed protobuf wire data (", bytes.size(),
                     " bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace pdp::server
