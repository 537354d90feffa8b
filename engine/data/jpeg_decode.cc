// JPEG decoding with libjpeg(-turbo).
//
// libjpeg's default error handler calls exit(); we install one that formats the message
// and longjmp()s back to DecodeJpegInto(), which owns nothing but the decoder context, so
// no C++ destructor is skipped by the jump. Decoding settings are libjpeg's defaults
// (islow DCT, fancy upsampling), the same as PIL, so pixels match PIL/torchvision.
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <memory>
#include <vector>

// clang-format off: jerror.h's message codes belong after jpeglib.h.
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "absl/strings/str_cat.h"
#include "engine/data/image_decode.h"

namespace qbench::data {
namespace {

// Refuse headers that claim absurd sizes before allocating (corrupt or hostile files).
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;  // 8192 x 8192: 192 MiB as RGB
constexpr long kMaxDecoderMemory = 512L << 20;       // libjpeg's own buffers (progressive files)

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

struct JpegContext {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  Image image;
  std::vector<uint8_t> cmyk_row;  // one scanline of 4-channel samples
  bool adobe_inverted = false;
};

[[noreturn]] void OnJpegError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (msg_level -1) about recoverable damage are ignored, as PIL does, except a
// premature end of data: libjpeg pads the missing rows with gray, which would silently
// feed a half-gray image to the model.
void OnJpegMessage(j_common_ptr cinfo, int msg_level) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

// a * b / 255 rounded to nearest, exact for 0 <= a, b <= 255 (PIL's MULDIV255).
inline int MulDiv255(int a, int b) {
  const int t = a * b + 128;
  return (t + (t >> 8)) >> 8;
}

// CMYK -> RGB like PIL: R = (255 - K) - C * (255 - K) / 255 = (255 - C)(255 - K) / 255.
// Adobe (Photoshop) files store the samples inverted; libjpeg hands them over as stored.
void CmykRowToRgb(const uint8_t* cmyk, int width, bool inverted, uint8_t* rgb) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const int k = inverted ? 255 - cmyk[3] : cmyk[3];
    const int nk = 255 - k;
    for (int c = 0; c < 3; ++c) {
      const int v = inverted ? 255 - cmyk[c] : cmyk[c];
      rgb[c] = static_cast<uint8_t>(nk - MulDiv255(v, nk));
    }
  }
}

// Returns false with ctx->err.message set on any libjpeg error. Everything the jump
// could leave half-done lives in *ctx, so no local is modified after setjmp().
bool DecodeJpegInto(JpegContext* ctx, const uint8_t* data, size_t size) {
  ctx->cinfo.err = jpeg_std_error(&ctx->err.pub);
  ctx->err.pub.error_exit = OnJpegError;
  ctx->err.pub.emit_message = OnJpegMessage;
  ctx->err.truncated = false;
  ctx->err.message[0] = '\0';
  if (setjmp(ctx->err.jump)) {
    jpeg_destroy_decompress(&ctx->cinfo);
    return false;
  }
  jpeg_create_decompress(&ctx->cinfo);
  ctx->cinfo.mem->max_memory_to_use = kMaxDecoderMemory;
  jpeg_mem_src(&ctx->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&ctx->cinfo, TRUE);

  const J_COLOR_SPACE src = ctx->cinfo.jpeg_color_space;
  const bool cmyk = src == JCS_CMYK || src == JCS_YCCK;  // libjpeg turns YCCK into CMYK
  ctx->cinfo.out_color_space = src == JCS_GRAYSCALE ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  ctx->adobe_inverted = cmyk && ctx->cinfo.saw_Adobe_marker;
  jpeg_calc_output_dimensions(&ctx->cinfo);
  const uint64_t pixels = uint64_t{ctx->cinfo.output_width} * ctx->cinfo.output_height;
  if (pixels == 0 || pixels > kMaxPixels) {
    std::snprintf(ctx->err.message, sizeof(ctx->err.message), "unsupported image size %ux%u",
                  ctx->cinfo.output_width, ctx->cinfo.output_height);
    jpeg_destroy_decompress(&ctx->cinfo);
    return false;
  }
  jpeg_start_decompress(&ctx->cinfo);

  const int width = static_cast<int>(ctx->cinfo.output_width);
  const int channels = ctx->cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
  ctx->image = Image(width, static_cast<int>(ctx->cinfo.output_height), channels);
  if (cmyk) ctx->cmyk_row.resize(static_cast<size_t>(width) * 4);
  while (ctx->cinfo.output_scanline < ctx->cinfo.output_height) {
    uint8_t* dst = &ctx->image.at(static_cast<int>(ctx->cinfo.output_scanline), 0, 0);
    JSAMPROW row = cmyk ? ctx->cmyk_row.data() : dst;
    jpeg_read_scanlines(&ctx->cinfo, &row, 1);
    if (cmyk) CmykRowToRgb(ctx->cmyk_row.data(), width, ctx->adobe_inverted, dst);
  }
  jpeg_finish_decompress(&ctx->cinfo);
  jpeg_destroy_decompress(&ctx->cinfo);
  return true;
}

}  // namespace

absl::StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name) {
  auto ctx = std::make_unique<JpegContext>();
  if (!DecodeJpegInto(ctx.get(), data, size))
    return absl::InvalidArgumentError(absl::StrCat(name, ": corrupt JPEG: ", ctx->err.message));
  if (ctx->err.truncated)
    return absl::InvalidArgumentError(absl::StrCat(name, ": corrupt JPEG: data ends early (truncated file)"));
  return std::move(ctx->image);
}

}  // namespace qbench::data
