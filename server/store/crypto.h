// Random bytes for the store (OpenSSL's CSPRNG), used for new API tokens. SHA-256 and
// hex encoding come from common/sha256.h.
#pragma once

#include <string>

#include "common/sha256.h"
#include <string_view>

namespace qbench::store {

using qbench::HexEncode;
// The 32-byte SHA-256 digest (token hashes, blob addresses are stored raw).
inline std::string Sha256(std::string_view bytes) { return qbench::Sha256Raw(bytes); }

// `n` bytes from OpenSSL's CSPRNG; aborts if the generator fails (it cannot be seeded).
std::string RandomBytes(size_t n);

}  // namespace qbench::store
