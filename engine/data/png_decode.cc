// PNG decoding with libpng.
//
// libpng reports errors by calling our handler, which records the message and
// longjmp()s back to DecodePngInto(); all state lives in PngContext so the jump skips no
// C++ destructor. Transforms bring every PNG to 8-bit gray or RGB: palettes expand to
// RGB, 1/2/4-bit gray to 8-bit, 16-bit samples keep their high byte (as PIL does for
// RGB;16B), alpha and tRNS transparency are dropped (PIL's RGBA -> RGB does the same).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/data/image_decode.h"

namespace qbench::data {
namespace {

constexpr uint64_t kMaxPixels = uint64_t{1} << 26;  // 8192 x 8192: 192 MiB as RGB

struct PngContext {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  std::jmp_buf jump;
  char message[256] = {};
  png_structp png = nullptr;
  png_infop info = nullptr;
  Image image;
  std::vector<png_bytep> rows;
};

[[noreturn]] void OnPngError(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
  std::longjmp(ctx->jump, 1);
}

void OnPngWarning(png_structp, png_const_charp) {}

void ReadFromMemory(png_structp png, png_bytep out, size_t n) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  if (ctx->size - ctx->pos < n) png_error(png, "data ends early (truncated file)");
  std::memcpy(out, ctx->data + ctx->pos, n);
  ctx->pos += n;
}

bool Fail(PngContext* ctx, const char* msg) {
  std::snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
  png_destroy_read_struct(&ctx->png, &ctx->info, nullptr);
  return false;
}

bool DecodePngInto(PngContext* ctx) {
  ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, OnPngError, OnPngWarning);
  if (ctx->png == nullptr) return Fail(ctx, "out of memory");
  ctx->info = png_create_info_struct(ctx->png);
  if (ctx->info == nullptr) return Fail(ctx, "out of memory");
  if (setjmp(ctx->jump)) {
    png_destroy_read_struct(&ctx->png, &ctx->info, nullptr);
    return false;
  }
  png_set_read_fn(ctx->png, ctx, ReadFromMemory);
  // Refuse absurd headers before any row is allocated, and cap ancillary chunks.
  png_set_user_limits(ctx->png, 1 << 15, 1 << 15);
  png_set_chunk_malloc_max(ctx->png, 8 << 20);
  png_read_info(ctx->png, ctx->info);

  const int color_type = png_get_color_type(ctx->png, ctx->info);
  const int bit_depth = png_get_bit_depth(ctx->png, ctx->info);
  if (bit_depth == 16) png_set_strip_16(ctx->png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(ctx->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(ctx->png);
  if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(ctx->png);
  png_set_interlace_handling(ctx->png);
  png_read_update_info(ctx->png, ctx->info);

  const png_uint_32 width = png_get_image_width(ctx->png, ctx->info);
  const png_uint_32 height = png_get_image_height(ctx->png, ctx->info);
  const int channels = png_get_channels(ctx->png, ctx->info);
  if (uint64_t{width} * height > kMaxPixels) return Fail(ctx, "image is too large");
  if (channels != 1 && channels != 3) return Fail(ctx, "unsupported channel count after transforms");
  if (png_get_rowbytes(ctx->png, ctx->info) != size_t{width} * channels)
    return Fail(ctx, "unexpected row size after transforms");

  ctx->image = Image(static_cast<int>(width), static_cast<int>(height), channels);
  ctx->rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) ctx->rows[y] = &ctx->image.at(static_cast<int>(y), 0, 0);
  png_read_image(ctx->png, ctx->rows.data());
  png_read_end(ctx->png, nullptr);
  png_destroy_read_struct(&ctx->png, &ctx->info, nullptr);
  return true;
}

}  // namespace

absl::StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name) {
  auto ctx = std::make_unique<PngContext>();
  ctx->data = data;
  ctx->size = size;
  if (!DecodePngInto(ctx.get()))
    return absl::InvalidArgumentError(absl::StrCat(name, ": corrupt PNG: ", ctx->message));
  return std::move(ctx->image);
}

}  // namespace qbench::data
