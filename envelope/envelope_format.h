// The dumpcrypt envelope, version 1: constants, the header as a struct, and
// its byte codec. docs/FORMAT.md is the normative description; this file
// follows it. Nothing here needs a key.
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_FORMAT_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_FORMAT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "envelope/key_slot.h"

namespace dumpcrypt {

inline constexpr std::array<uint8_t, 8> kEnvelopeMagic = {
    0x89, 'D', 'C', 'E', '\r', '\n', 0x1a, '\n'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kFixedHeaderSize = 64;
inline constexpr size_t kHeaderTagSize = 32;
inline constexpr uint32_t kMaxHeaderSize = 1 << 20;
inline constexpr uint32_t kMaxPrefixSize = 1 << 20;
inline constexpr uint32_t kMinSectorSize = 512;
inline constexpr uint32_t kMaxSectorSize = 65536;
inline constexpr uint32_t kDefaultSectorSize = 4096;
inline constexpr uint32_t kDataAlignment = 4096;
inline constexpr size_t kSectorTagSize = 16;
inline constexpr size_t kDataKeySize = 64;
inline constexpr size_t kKekSize = 32;
inline constexpr size_t kMaxMetadataTextSize = 4096;
inline constexpr uint64_t kMaxPlaintextLength = uint64_t{1} << 60;

inline constexpr uint8_t kCipherAes256Xts = 1;
inline constexpr uint16_t kFlagIntegrity = 1;
inline constexpr uint8_t kInputTruncated = 1;  // the input state record's value
// Room a writer keeps between the header it starts with and the prefix,
// for the records it adds when the input ends: input state and layout.
inline constexpr uint32_t kInputStateRecordSize = 5;
// The layout record's kind for a makedumpfile flattened stream, and the
// record's size.
inline constexpr uint8_t kLayoutFlattened = 1;
inline constexpr uint32_t kLayoutRecordSize = 13;

// Record types of the header's variable part. Types with the high bit set
// are optional: readers that do not know them skip them.
enum RecordType : uint16_t {
  kRecordKeySlot = 0x0001,
  kRecordDumpType = 0x0010,
  kRecordWorld = 0x0011,
  kRecordCreated = 0x0012,
  kRecordHost = 0x0013,
  kRecordVmName = 0x0014,
  kRecordVmUuid = 0x0015,
  kRecordOriginalName = 0x0016,
  kRecordLayout = 0x0017,
  kRecordInputState = 0x8001,  // optional: readers that do not know it skip it
  kRecordProcess = 0x8002,     // optional, as are the three after it
  kRecordExecutable = 0x8003,
  kRecordCommandLine = 0x8004,
  kRecordCgroup = 0x8005,
  kRecordUnit = 0x8006,
};

enum class DumpType : uint8_t {
  kOther = 0,
  kVmkernel = 1,
  kUserworld = 2,
  kVm = 3
};

// DumpTypeName returns "other", "vmkernel", "userworld" or "vm".
absl::string_view DumpTypeName(DumpType type);
// ParseDumpType is the inverse of DumpTypeName; INVALID_ARGUMENT otherwise.
absl::StatusOr<DumpType> ParseDumpType(absl::string_view name);

// ProcessIds are the numbers the kernel gives a core_pattern handler.
struct ProcessIds {
  uint32_t pid = 0;  // in the initial PID namespace
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t signal = 0;  // that caused the dump
};

struct DumpMetadata {
  DumpType type = DumpType::kOther;
  std::string world;         // world or process name
  int64_t created_unix = 0;  // 0: unknown
  std::string host;
  std::string vm_name;
  std::string vm_uuid;
  std::string original_name;
  // The writer found its input shorter than the input's own structure says
  // (an ELF core whose program headers name bytes past its end).
  bool truncated = false;
  // The plaintext is a makedumpfile flattened stream, shown as the file of
  // this size that it describes (envelope/flattened_view.h).
  std::optional<uint64_t> flattened_size;
  // The process that dumped, as a crash-time handler saw it.
  std::optional<ProcessIds> process;
  std::string executable;    // path of its executable
  std::string command_line;  // its arguments, joined by spaces
  std::string cgroup;        // its cgroup path
  std::string unit;          // its systemd unit
};

struct EnvelopeHeader {
  uint16_t version = kFormatVersion;
  bool integrity = true;
  uint32_t header_length = 0;  // set by Encode/Parse
  uint32_t sector_size = kDefaultSectorSize;
  uint32_t prefix_length = 0;
  uint64_t data_offset = 0;
  uint64_t plaintext_length = 0;
  std::array<uint8_t, 16> file_id{};
  std::vector<KeySlot> slots;
  DumpMetadata metadata;
  // The header's bytes as read from a file (all header_length of them,
  // the tag included); empty for a header built in memory.
  std::vector<uint8_t> raw;

  uint64_t SectorCount() const {
    return (plaintext_length + sector_size - 1) / sector_size;
  }
  // SectorStride is the bytes one sector takes in the file: its ciphertext
  // and, with integrity, its tag right after it.
  uint64_t SectorStride() const {
    return sector_size + (integrity ? kSectorTagSize : 0);
  }
  // DecryptedSize is the size of the decrypted view: prefix then plaintext.
  uint64_t DecryptedSize() const { return prefix_length + plaintext_length; }
  uint64_t ExpectedFileSize() const {
    return data_offset + SectorCount() * SectorStride();
  }
  // primary_key is the key reference of the first provider key slot, or an
  // empty one if no slot is a provider key slot.
  const KeyRef& primary_key() const;
};

// HasEnvelopeMagic is true if `bytes` starts with the envelope magic.
bool HasEnvelopeMagic(absl::Span<const uint8_t> bytes);

// HeaderLengthFromFixed reads header_length from the first 64 bytes of a
// file; FAILED_PRECONDITION if they are not an envelope (no magic),
// DATA_LOSS for an unsupported version or an impossible length.
absl::StatusOr<uint32_t> HeaderLengthFromFixed(absl::Span<const uint8_t> fixed);

// EncodeHeader returns the header's bytes without its 32-byte tag and sets
// header->header_length (result size + 32). INVALID_ARGUMENT for a header
// that breaks a rule of the format.
absl::StatusOr<std::vector<uint8_t>> EncodeHeader(EnvelopeHeader* header);

// ParseHeader decodes a whole header (header_length bytes, tag included)
// and checks every rule of the format that needs no key; the tag itself is
// not checked here. FAILED_PRECONDITION: not an envelope; DATA_LOSS: damaged
// or inconsistent; UNIMPLEMENTED: a newer version or unknown cipher/record.
absl::StatusOr<EnvelopeHeader> ParseHeader(absl::Span<const uint8_t> bytes);

// ReadHeader reads and parses the header at `base` in `fd` (its start by
// default), as
// ParseHeader; an unreadable or short file is DATA_LOSS or the errno's code.
absl::StatusOr<EnvelopeHeader> ReadHeader(int fd, uint64_t base = 0);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_FORMAT_H_
