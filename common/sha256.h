// SHA-256 through OpenSSL's EVP interface: content addresses of blobs, hashes of sample
// lists and quantization parameters, API tokens at rest. Link OpenSSL::Crypto (the
// qb_common target does).
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace qbench {

// Incremental hashing (uploads arrive in chunks).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  // The 32-byte digest; the object is spent afterwards.
  std::string Digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    return std::string(reinterpret_cast<const char*>(digest), len);
  }
  // Lower-case hex of the digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  EVP_MD_CTX* ctx_;
};

// Lower-case hex of arbitrary bytes (64 characters for a digest).
inline std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

inline std::string Sha256::HexDigest() { return HexEncode(Digest()); }

// The 32-byte digest and its hex form.
inline std::string Sha256Raw(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Digest();
}
inline std::string Sha256Hex(std::string_view bytes) { return HexEncode(Sha256Raw(bytes)); }

// True for exactly 64 lower-case hex characters (a content address).
inline bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace qbench
