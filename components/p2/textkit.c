// A text toolkit: the "new, realistic ~200 KB component" of the cold-start
// benchmark (bench/executor/cold-start.ts). It uses a fair part of libc
// (stdio with floats, sscanf, strtod, qsort/bsearch, string and wide-char
// functions, POSIX regex, strftime, getopt, math) and carries a small
// interpreter, an LZ77 + Huffman compressor and SHA-256 of its own.
//
//   textkit                 run every part on built-in data; prints a report ending "textkit ok"
//   textkit calc PROGRAM    run a program of the little language (see run_program)
//   textkit compress        compress stdin, decompress it again, print sizes and checksums
//   textkit grep REGEX      print the stdin lines matching an extended regex
//   textkit sort            print the stdin lines sorted (numbers first, by value)
//   textkit sha256          print the SHA-256 of stdin
//   textkit words           word frequencies of stdin, most frequent first
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

// ---------------------------------------------------------------------------
// The allocator the preview1 adapter uses for its own state. Debian's
// wasi-libc (2022) does not export one, so `jco new` gives the adapter an
// allocator that takes pages with memory.grow behind malloc's back; once
// malloc then grows the heap, the adapter's state is overwritten and it
// traps ("assertion failed at adapter line 2857", in fd_fdstat_get). Newer
// wasi-libc exports this very function.
__attribute__((__export_name__("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                    size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void *)align;
  void *block = realloc(old, new_size);
  if (!block) abort();
  return block;
}

// ---------------------------------------------------------------------------
// Growable byte buffers and small helpers.

typedef struct {
  unsigned char *data;
  size_t length, capacity;
} Buffer;

static void *checked(void *pointer) {
  if (!pointer) {
    fputs("textkit: out of memory\n", stderr);
    exit(3);
  }
  return pointer;
}

static void buffer_reserve(Buffer *buffer, size_t extra) {
  if (buffer->length + extra <= buffer->capacity) return;
  size_t capacity = buffer->capacity ? buffer->capacity : 256;
  while (capacity < buffer->length + extra) capacity *= 2;
  buffer->data = checked(realloc(buffer->data, capacity));
  buffer->capacity = capacity;
}

static void buffer_push(Buffer *buffer, unsigned char byte) {
  buffer_reserve(buffer, 1);
  buffer->data[buffer->length++] = byte;
}

static void buffer_append(Buffer *buffer, const void *bytes, size_t count) {
  buffer_reserve(buffer, count);
  memcpy(buffer->data + buffer->length, bytes, count);
  buffer->length += count;
}

static void buffer_printf(Buffer *buffer, const char *format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int needed = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (needed > 0) {
    buffer_reserve(buffer, (size_t)needed + 1);
    vsnprintf((char *)buffer->data + buffer->length, (size_t)needed + 1, format, again);
    buffer->length += (size_t)needed;
  }
  va_end(again);
}

static Buffer read_all(FILE *in) {
  Buffer buffer = {0};
  char chunk[4096];
  size_t count;
  while ((count = fread(chunk, 1, sizeof chunk, in)) > 0) buffer_append(&buffer, chunk, count);
  return buffer;
}

static char *duplicate(const char *text, size_t length) {
  char *copy = checked(malloc(length + 1));
  memcpy(copy, text, length);
  copy[length] = 0;
  return copy;
}

// Splits text into lines (the buffer is modified: newlines become NULs).
static size_t split_lines(char *text, char ***lines_out) {
  size_t count = 0, capacity = 64;
  char **lines = checked(malloc(capacity * sizeof *lines));
  for (char *saved = NULL, *line = strtok_r(text, "\n", &saved); line;
       line = strtok_r(NULL, "\n", &saved)) {
    if (count == capacity) lines = checked(realloc(lines, (capacity *= 2) * sizeof *lines));
    size_t length = strlen(line);
    if (length && line[length - 1] == '\r') line[length - 1] = 0;
    lines[count++] = line;
  }
  *lines_out = lines;
  return count;
}

// ---------------------------------------------------------------------------
// SHA-256 (FIPS 180-4) and CRC-32.

typedef struct {
  uint32_t state[8];
  uint64_t length;
  unsigned char block[64];
  size_t used;
} Sha256;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t rotate_right(uint32_t value, int bits) {
  return (value >> bits) | (value << (32 - bits));
}

static void sha256_block(Sha256 *sha, const unsigned char *block) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)block[i * 4] << 24 | (uint32_t)block[i * 4 + 1] << 16 |
           (uint32_t)block[i * 4 + 2] << 8 | block[i * 4 + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = sha->state[0], b = sha->state[1], c = sha->state[2], d = sha->state[3];
  uint32_t e = sha->state[4], f = sha->state[5], g = sha->state[6], h = sha->state[7];
  for (int i = 0; i < 64; i++) {
    uint32_t s1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
    uint32_t choice = (e & f) ^ (~e & g);
    uint32_t t1 = h + s1 + choice + sha256_k[i] + w[i];
    uint32_t s0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
    uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = s0 + majority;
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  sha->state[0] += a, sha->state[1] += b, sha->state[2] += c, sha->state[3] += d;
  sha->state[4] += e, sha->state[5] += f, sha->state[6] += g, sha->state[7] += h;
}

static void sha256_init(Sha256 *sha) {
  static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(sha->state, initial, sizeof initial);
  sha->length = 0;
  sha->used = 0;
}

static void sha256_update(Sha256 *sha, const void *bytes, size_t count) {
  const unsigned char *input = bytes;
  sha->length += count;
  while (count > 0) {
    size_t take = 64 - sha->used < count ? 64 - sha->used : count;
    memcpy(sha->block + sha->used, input, take);
    sha->used += take, input += take, count -= take;
    if (sha->used == 64) sha256_block(sha, sha->block), sha->used = 0;
  }
}

static void sha256_hex(Sha256 *sha, char out[65]) {
  uint64_t bits = sha->length * 8;
  unsigned char pad = 0x80;
  sha256_update(sha, &pad, 1);
  pad = 0;
  while (sha->used != 56) sha256_update(sha, &pad, 1);
  unsigned char length[8];
  for (int i = 0; i < 8; i++) length[i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(sha, length, 8);
  for (int i = 0; i < 8; i++) snprintf(out + i * 8, 9, "%08" PRIx32, sha->state[i]);
}

static uint32_t crc32_of(const unsigned char *bytes, size_t count) {
  static uint32_t table[256];
  if (!table[1]) {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[n] = c;
    }
  }
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < count; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

// ---------------------------------------------------------------------------
// Compression: LZ77 (hash chains, 32 KiB window) into literal/length and
// distance symbols, each stream coded with a canonical Huffman code.

enum { WINDOW = 1 << 15, MIN_MATCH = 3, MAX_MATCH = 258, HASH_BITS = 14, MAX_CODE_BITS = 15 };
enum { LITLEN_SYMBOLS = 286, DISTANCE_SYMBOLS = 30 };

static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                         15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                         67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t distance_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,
                                           17,   25,   33,   49,   65,   97,    129,   193,
                                           257,  385,  513,  769,  1025, 1537,  2049,  3073,
                                           4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t distance_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

typedef struct {
  uint16_t symbol;
  uint16_t extra_value;
  uint8_t extra_bits;
  uint8_t is_distance;
} Token;

typedef struct {
  Buffer out;
  uint32_t bits;
  int count;
} BitWriter;

static void put_bits(BitWriter *writer, uint32_t value, int count) {
  writer->bits |= value << writer->count;
  writer->count += count;
  while (writer->count >= 8) {
    buffer_push(&writer->out, (unsigned char)writer->bits);
    writer->bits >>= 8;
    writer->count -= 8;
  }
}

static void flush_bits(BitWriter *writer) {
  if (writer->count > 0) buffer_push(&writer->out, (unsigned char)writer->bits);
  writer->bits = 0;
  writer->count = 0;
}

typedef struct {
  const unsigned char *data;
  size_t length, position;
  uint32_t bits;
  int count;
} BitReader;

static int get_bits(BitReader *reader, int count, uint32_t *value) {
  while (reader->count < count) {
    if (reader->position >= reader->length) return 0;
    reader->bits |= (uint32_t)reader->data[reader->position++] << reader->count;
    reader->count += 8;
  }
  *value = reader->bits & ((1u << count) - 1);
  reader->bits >>= count;
  reader->count -= count;
  return 1;
}

typedef struct {
  uint32_t weight;
  int symbol;  // -1 for an inner node
  int left, right;
} HuffmanNode;

static int compare_nodes_by_weight(const void *a, const void *b) {
  const HuffmanNode *x = a, *y = b;
  if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
  return x->symbol - y->symbol;
}

static void assign_depths(const HuffmanNode *nodes, int index, int depth, uint8_t *lengths) {
  if (nodes[index].symbol >= 0) {
    lengths[nodes[index].symbol] = (uint8_t)(depth ? depth : 1);
    return;
  }
  assign_depths(nodes, nodes[index].left, depth + 1, lengths);
  assign_depths(nodes, nodes[index].right, depth + 1, lengths);
}

// Code lengths from frequencies; lengths over MAX_CODE_BITS are avoided by
// flattening the frequencies and trying again.
static void huffman_lengths(const uint32_t *frequencies, int symbols, uint8_t *lengths) {
  uint32_t *flattened = checked(malloc(symbols * sizeof *flattened));
  memcpy(flattened, frequencies, symbols * sizeof *flattened);
  for (;;) {
    HuffmanNode *nodes = checked(calloc(2 * symbols, sizeof *nodes));
    int leaves = 0;
    for (int s = 0; s < symbols; s++)
      if (flattened[s]) nodes[leaves++] = (HuffmanNode){flattened[s], s, -1, -1};
    memset(lengths, 0, symbols);
    if (leaves == 0) {
      free(nodes);
      break;
    }
    qsort(nodes, leaves, sizeof *nodes, compare_nodes_by_weight);
    // Two queues: the sorted leaves and the inner nodes made in order of weight.
    int next_leaf = 0, next_inner = leaves, made = leaves;
    while (made - next_inner + leaves - next_leaf > 1) {
      int picked[2];
      for (int k = 0; k < 2; k++) {
        if (next_leaf < leaves &&
            (next_inner >= made || nodes[next_leaf].weight <= nodes[next_inner].weight))
          picked[k] = next_leaf++;
        else
          picked[k] = next_inner++;
      }
      nodes[made] = (HuffmanNode){nodes[picked[0]].weight + nodes[picked[1]].weight, -1,
                                  picked[0], picked[1]};
      made++;
    }
    assign_depths(nodes, made - 1, 0, lengths);
    free(nodes);
    int longest = 0;
    for (int s = 0; s < symbols; s++)
      if (lengths[s] > longest) longest = lengths[s];
    if (longest <= MAX_CODE_BITS) break;
    for (int s = 0; s < symbols; s++)
      if (flattened[s]) flattened[s] = flattened[s] / 2 + 1;
  }
  free(flattened);
}

// Canonical codes (bit-reversed for an LSB-first writer).
static void canonical_codes(const uint8_t *lengths, int symbols, uint16_t *codes) {
  uint16_t count[MAX_CODE_BITS + 1] = {0}, next[MAX_CODE_BITS + 2] = {0};
  for (int s = 0; s < symbols; s++) count[lengths[s]]++;
  count[0] = 0;
  uint16_t code = 0;
  for (int bits = 1; bits <= MAX_CODE_BITS; bits++) {
    code = (uint16_t)((code + count[bits - 1]) << 1);
    next[bits] = code;
  }
  for (int s = 0; s < symbols; s++) {
    int length = lengths[s];
    if (!length) continue;
    uint16_t value = next[length]++, reversed = 0;
    for (int b = 0; b < length; b++) reversed |= (uint16_t)(((value >> b) & 1) << (length - 1 - b));
    codes[s] = reversed;
  }
}

typedef struct {
  uint16_t first_code[MAX_CODE_BITS + 1];
  uint16_t first_index[MAX_CODE_BITS + 1];
  uint16_t count[MAX_CODE_BITS + 1];
  uint16_t symbols[LITLEN_SYMBOLS];
} Decoder;

static void build_decoder(Decoder *decoder, const uint8_t *lengths, int symbols) {
  memset(decoder, 0, sizeof *decoder);
  for (int s = 0; s < symbols; s++) decoder->count[lengths[s]]++;
  decoder->count[0] = 0;
  uint16_t code = 0, index = 0;
  for (int bits = 1; bits <= MAX_CODE_BITS; bits++) {
    decoder->first_code[bits] = code;
    decoder->first_index[bits] = index;
    index += decoder->count[bits];
    code = (uint16_t)((code + decoder->count[bits]) << 1);
  }
  uint16_t fill[MAX_CODE_BITS + 1];
  memcpy(fill, decoder->first_index, sizeof fill);
  for (int s = 0; s < symbols; s++)
    if (lengths[s]) decoder->symbols[fill[lengths[s]]++] = (uint16_t)s;
}

static int decode_symbol(const Decoder *decoder, BitReader *reader) {
  uint32_t code = 0;
  for (int bits = 1; bits <= MAX_CODE_BITS; bits++) {
    uint32_t bit;
    if (!get_bits(reader, 1, &bit)) return -1;
    code = (code << 1) | bit;
    uint32_t offset = code - decoder->first_code[bits];
    if (decoder->count[bits] && code >= decoder->first_code[bits] &&
        offset < decoder->count[bits])
      return decoder->symbols[decoder->first_index[bits] + offset];
  }
  return -1;
}

static int code_index(const uint16_t *base, int entries, unsigned value) {
  int index = entries - 1;
  while (index > 0 && base[index] > value) index--;
  return index;
}

static size_t lz77_tokens(const unsigned char *input, size_t length, Token **tokens_out) {
  int32_t *head = checked(malloc(sizeof(int32_t) << HASH_BITS));
  int32_t *previous = checked(malloc(sizeof(int32_t) * (length ? length : 1)));
  for (int i = 0; i < 1 << HASH_BITS; i++) head[i] = -1;
  size_t count = 0, capacity = 1024;
  Token *tokens = checked(malloc(capacity * sizeof *tokens));
#define EMIT(token)                                                                        \
  do {                                                                                     \
    if (count == capacity) tokens = checked(realloc(tokens, (capacity *= 2) * sizeof *tokens)); \
    tokens[count++] = (token);                                                             \
  } while (0)
  size_t position = 0;
  while (position < length) {
    size_t best_length = 0, best_distance = 0;
    if (position + MIN_MATCH <= length) {
      uint32_t hash = ((uint32_t)input[position] << 10 ^ (uint32_t)input[position + 1] << 5 ^
                       input[position + 2]) &
                      ((1u << HASH_BITS) - 1);
      int chain = 64;
      for (int32_t candidate = head[hash]; candidate >= 0 && chain-- > 0;
           candidate = previous[candidate]) {
        size_t distance = position - (size_t)candidate;
        if (distance > WINDOW) break;
        size_t match = 0, limit = length - position < MAX_MATCH ? length - position : MAX_MATCH;
        while (match < limit && input[candidate + match] == input[position + match]) match++;
        if (match > best_length) best_length = match, best_distance = distance;
        if (match == limit) break;
      }
      previous[position] = head[hash];
      head[hash] = (int32_t)position;
    }
    if (best_length >= MIN_MATCH) {
      int li = code_index(length_base, 29, (unsigned)best_length);
      EMIT(((Token){(uint16_t)(257 + li), (uint16_t)(best_length - length_base[li]),
                    length_extra[li], 0}));
      int di = code_index(distance_base, 30, (unsigned)best_distance);
      EMIT(((Token){(uint16_t)di, (uint16_t)(best_distance - distance_base[di]),
                    distance_extra[di], 1}));
      for (size_t k = 1; k < best_length; k++) {
        size_t at = position + k;
        if (at + MIN_MATCH <= length) {
          uint32_t hash = ((uint32_t)input[at] << 10 ^ (uint32_t)input[at + 1] << 5 ^ input[at + 2]) &
                          ((1u << HASH_BITS) - 1);
          previous[at] = head[hash];
          head[hash] = (int32_t)at;
        }
      }
      position += best_length;
    } else {
      EMIT(((Token){input[position], 0, 0, 0}));
      position++;
    }
  }
  EMIT(((Token){256, 0, 0, 0}));
#undef EMIT
  free(head);
  free(previous);
  *tokens_out = tokens;
  return count;
}

// Format: "TKZ1", 4-byte length, code lengths (4 bits each), then the bit stream.
static Buffer compress(const unsigned char *input, size_t length) {
  Token *tokens;
  size_t count = lz77_tokens(input, length, &tokens);
  uint32_t litlen_frequency[LITLEN_SYMBOLS] = {0}, distance_frequency[DISTANCE_SYMBOLS] = {0};
  for (size_t i = 0; i < count; i++) {
    if (tokens[i].is_distance)
      distance_frequency[tokens[i].symbol]++;
    else
      litlen_frequency[tokens[i].symbol]++;
  }
  uint8_t litlen_lengths[LITLEN_SYMBOLS], distance_lengths[DISTANCE_SYMBOLS];
  huffman_lengths(litlen_frequency, LITLEN_SYMBOLS, litlen_lengths);
  huffman_lengths(distance_frequency, DISTANCE_SYMBOLS, distance_lengths);
  uint16_t litlen_codes[LITLEN_SYMBOLS] = {0}, distance_codes[DISTANCE_SYMBOLS] = {0};
  canonical_codes(litlen_lengths, LITLEN_SYMBOLS, litlen_codes);
  canonical_codes(distance_lengths, DISTANCE_SYMBOLS, distance_codes);
  BitWriter writer = {0};
  buffer_append(&writer.out, "TKZ1", 4);
  for (int i = 0; i < 4; i++) buffer_push(&writer.out, (unsigned char)(length >> (8 * i)));
  for (int s = 0; s < LITLEN_SYMBOLS; s++) put_bits(&writer, litlen_lengths[s], 4);
  for (int s = 0; s < DISTANCE_SYMBOLS; s++) put_bits(&writer, distance_lengths[s], 4);
  for (size_t i = 0; i < count; i++) {
    const Token *token = &tokens[i];
    if (token->is_distance)
      put_bits(&writer, distance_codes[token->symbol], distance_lengths[token->symbol]);
    else
      put_bits(&writer, litlen_codes[token->symbol], litlen_lengths[token->symbol]);
    if (token->extra_bits) put_bits(&writer, token->extra_value, token->extra_bits);
  }
  flush_bits(&writer);
  free(tokens);
  return writer.out;
}

// Returns 0 and fills out on success, -1 on corrupt input.
static int decompress(const unsigned char *input, size_t length, Buffer *out) {
  if (length < 8 || memcmp(input, "TKZ1", 4) != 0) return -1;
  size_t expected = 0;
  for (int i = 0; i < 4; i++) expected |= (size_t)input[4 + i] << (8 * i);
  BitReader reader = {input, length, 8, 0, 0};
  uint8_t litlen_lengths[LITLEN_SYMBOLS], distance_lengths[DISTANCE_SYMBOLS];
  uint32_t value;
  for (int s = 0; s < LITLEN_SYMBOLS; s++) {
    if (!get_bits(&reader, 4, &value)) return -1;
    litlen_lengths[s] = (uint8_t)value;
  }
  for (int s = 0; s < DISTANCE_SYMBOLS; s++) {
    if (!get_bits(&reader, 4, &value)) return -1;
    distance_lengths[s] = (uint8_t)value;
  }
  static Decoder litlen, distance;
  build_decoder(&litlen, litlen_lengths, LITLEN_SYMBOLS);
  build_decoder(&distance, distance_lengths, DISTANCE_SYMBOLS);
  for (;;) {
    int symbol = decode_symbol(&litlen, &reader);
    if (symbol < 0) return -1;
    if (symbol < 256) {
      buffer_push(out, (unsigned char)symbol);
      continue;
    }
    if (symbol == 256) break;
    int li = symbol - 257;
    if (li >= 29 || !get_bits(&reader, length_extra[li], &value)) return -1;
    size_t match = length_base[li] + value;
    int di = decode_symbol(&distance, &reader);
    if (di < 0 || di >= 30 || !get_bits(&reader, distance_extra[di], &value)) return -1;
    size_t back = distance_base[di] + value;
    if (back > out->length) return -1;
    for (size_t k = 0; k < match; k++) buffer_push(out, out->data[out->length - back]);
  }
  return out->length == expected ? 0 : -1;
}

// ---------------------------------------------------------------------------
// The little language: numbers and strings, variables, arithmetic,
// comparisons, if/else, while, functions (recursive), print and a few
// built-ins backed by libm and libc.
//
//   fn fact(n) { if (n < 2) { return 1; } return n * fact(n - 1); }
//   let i = 0; while (i < 5) { print(i, fact(i)); i = i + 1; }

typedef enum { VALUE_NUMBER, VALUE_STRING } ValueKind;
typedef struct {
  ValueKind kind;
  double number;
  char *string;
} Value;

typedef enum {
  TOKEN_END,
  TOKEN_NUMBER,
  TOKEN_STRING,
  TOKEN_NAME,
  TOKEN_PUNCT,
} TokenKind;

typedef struct {
  TokenKind kind;
  char text[64];
  double number;
  int line;
} LexToken;

typedef enum {
  NODE_NUMBER,
  NODE_STRING,
  NODE_VARIABLE,
  NODE_BINARY,
  NODE_UNARY,
  NODE_CALL,
  NODE_ASSIGN,
  NODE_LET,
  NODE_BLOCK,
  NODE_IF,
  NODE_WHILE,
  NODE_RETURN,
  NODE_FUNCTION,
  NODE_EXPRESSION,
} NodeKind;

typedef struct Node {
  NodeKind kind;
  char name[32];
  char operator[3];
  double number;
  char *string;
  struct Node **children;
  int child_count;
  char **parameters;
  int parameter_count;
} Node;

typedef struct {
  const char *source;
  size_t position;
  int line;
  LexToken current;
  char error[160];
} Parser;

static void lex_next(Parser *parser) {
  const char *s = parser->source;
  size_t *p = &parser->position;
  for (;;) {
    while (isspace((unsigned char)s[*p])) {
      if (s[*p] == '\n') parser->line++;
      (*p)++;
    }
    if (s[*p] == '#') {
      while (s[*p] && s[*p] != '\n') (*p)++;
      continue;
    }
    break;
  }
  LexToken *token = &parser->current;
  memset(token, 0, sizeof *token);
  token->line = parser->line;
  char c = s[*p];
  if (!c) {
    token->kind = TOKEN_END;
    return;
  }
  if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[*p + 1]))) {
    char *end;
    token->kind = TOKEN_NUMBER;
    token->number = strtod(s + *p, &end);
    *p = (size_t)(end - s);
    return;
  }
  if (isalpha((unsigned char)c) || c == '_') {
    size_t start = *p;
    while (isalnum((unsigned char)s[*p]) || s[*p] == '_') (*p)++;
    size_t length = *p - start < sizeof token->text - 1 ? *p - start : sizeof token->text - 1;
    token->kind = TOKEN_NAME;
    memcpy(token->text, s + start, length);
    return;
  }
  if (c == '"') {
    (*p)++;
    size_t length = 0;
    while (s[*p] && s[*p] != '"' && length < sizeof token->text - 1) {
      char ch = s[(*p)++];
      if (ch == '\\' && s[*p]) {
        ch = s[(*p)++];
        ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
      }
      token->text[length++] = ch;
    }
    if (s[*p] == '"') (*p)++;
    token->kind = TOKEN_STRING;
    return;
  }
  static const char *const pairs[] = {"==", "!=", "<=", ">=", "&&", "||"};
  token->kind = TOKEN_PUNCT;
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    if (strncmp(s + *p, pairs[i], 2) == 0) {
      memcpy(token->text, pairs[i], 2);
      *p += 2;
      return;
    }
  }
  token->text[0] = c;
  (*p)++;
}

static int is_punct(const Parser *parser, const char *text) {
  return parser->current.kind == TOKEN_PUNCT && strcmp(parser->current.text, text) == 0;
}

static int is_keyword(const Parser *parser, const char *word) {
  return parser->current.kind == TOKEN_NAME && strcmp(parser->current.text, word) == 0;
}

static void fail_parse(Parser *parser, const char *expected) {
  if (!parser->error[0])
    snprintf(parser->error, sizeof parser->error, "line %d: expected %s near '%s'",
             parser->current.line, expected, parser->current.text);
}

static void expect(Parser *parser, const char *text) {
  if (is_punct(parser, text))
    lex_next(parser);
  else
    fail_parse(parser, text);
}

static Node *new_node(NodeKind kind) {
  Node *node = checked(calloc(1, sizeof *node));
  node->kind = kind;
  return node;
}

static void add_child(Node *node, Node *child) {
  node->children = checked(realloc(node->children, (node->child_count + 1) * sizeof(Node *)));
  node->children[node->child_count++] = child;
}

static Node *parse_expression(Parser *parser);
static Node *parse_statement(Parser *parser);

static Node *parse_primary(Parser *parser) {
  LexToken token = parser->current;
  if (token.kind == TOKEN_NUMBER) {
    lex_next(parser);
    Node *node = new_node(NODE_NUMBER);
    node->number = token.number;
    return node;
  }
  if (token.kind == TOKEN_STRING) {
    lex_next(parser);
    Node *node = new_node(NODE_STRING);
    node->string = duplicate(token.text, strlen(token.text));
    return node;
  }
  if (token.kind == TOKEN_NAME) {
    lex_next(parser);
    if (is_punct(parser, "(")) {
      lex_next(parser);
      Node *call = new_node(NODE_CALL);
      snprintf(call->name, sizeof call->name, "%s", token.text);
      while (!is_punct(parser, ")") && !parser->error[0] && parser->current.kind != TOKEN_END) {
        add_child(call, parse_expression(parser));
        if (!is_punct(parser, ",")) break;
        lex_next(parser);
      }
      expect(parser, ")");
      return call;
    }
    Node *node = new_node(NODE_VARIABLE);
    snprintf(node->name, sizeof node->name, "%s", token.text);
    return node;
  }
  if (is_punct(parser, "(")) {
    lex_next(parser);
    Node *inner = parse_expression(parser);
    expect(parser, ")");
    return inner;
  }
  if (is_punct(parser, "-") || is_punct(parser, "!")) {
    Node *node = new_node(NODE_UNARY);
    node->operator[0] = parser->current.text[0];
    lex_next(parser);
    add_child(node, parse_primary(parser));
    return node;
  }
  fail_parse(parser, "an expression");
  lex_next(parser);
  return new_node(NODE_NUMBER);
}

static int precedence(const Parser *parser) {
  if (parser->current.kind != TOKEN_PUNCT) return -1;
  static const struct {
    const char *text;
    int level;
  } table[] = {{"||", 1}, {"&&", 2}, {"==", 3}, {"!=", 3}, {"<", 4}, {">", 4}, {"<=", 4},
               {">=", 4}, {"+", 5},  {"-", 5},  {"*", 6},  {"/", 6}, {"%", 6}, {"^", 7}};
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (strcmp(parser->current.text, table[i].text) == 0) return table[i].level;
  return -1;
}

static Node *parse_binary(Parser *parser, int minimum) {
  Node *left = parse_primary(parser);
  for (;;) {
    int level = precedence(parser);
    if (level < minimum || parser->error[0]) return left;
    Node *node = new_node(NODE_BINARY);
    snprintf(node->operator, sizeof node->operator, "%s", parser->current.text);
    lex_next(parser);
    // '^' is right-associative, the others left-associative.
    Node *right = parse_binary(parser, strcmp(node->operator, "^") == 0 ? level : level + 1);
    add_child(node, left);
    add_child(node, right);
    left = node;
  }
}

static Node *parse_expression(Parser *parser) {
  if (parser->current.kind == TOKEN_NAME) {
    // Look ahead for `name =` (not `==`).
    size_t saved_position = parser->position;
    int saved_line = parser->line;
    LexToken saved = parser->current;
    lex_next(parser);
    if (is_punct(parser, "=")) {
      lex_next(parser);
      Node *node = new_node(NODE_ASSIGN);
      snprintf(node->name, sizeof node->name, "%s", saved.text);
      add_child(node, parse_expression(parser));
      return node;
    }
    parser->position = saved_position;
    parser->line = saved_line;
    parser->current = saved;
  }
  return parse_binary(parser, 1);
}

static Node *parse_block(Parser *parser) {
  Node *block = new_node(NODE_BLOCK);
  expect(parser, "{");
  while (!is_punct(parser, "}") && parser->current.kind != TOKEN_END && !parser->error[0])
    add_child(block, parse_statement(parser));
  expect(parser, "}");
  return block;
}

static Node *parse_statement(Parser *parser) {
  if (is_keyword(parser, "let")) {
    lex_next(parser);
    Node *node = new_node(NODE_LET);
    snprintf(node->name, sizeof node->name, "%s", parser->current.text);
    lex_next(parser);
    expect(parser, "=");
    add_child(node, parse_expression(parser));
    expect(parser, ";");
    return node;
  }
  if (is_keyword(parser, "if")) {
    lex_next(parser);
    Node *node = new_node(NODE_IF);
    expect(parser, "(");
    add_child(node, parse_expression(parser));
    expect(parser, ")");
    add_child(node, parse_block(parser));
    if (is_keyword(parser, "else")) {
      lex_next(parser);
      add_child(node, is_keyword(parser, "if") ? parse_statement(parser) : parse_block(parser));
    }
    return node;
  }
  if (is_keyword(parser, "while")) {
    lex_next(parser);
    Node *node = new_node(NODE_WHILE);
    expect(parser, "(");
    add_child(node, parse_expression(parser));
    expect(parser, ")");
    add_child(node, parse_block(parser));
    return node;
  }
  if (is_keyword(parser, "return")) {
    lex_next(parser);
    Node *node = new_node(NODE_RETURN);
    add_child(node, parse_expression(parser));
    expect(parser, ";");
    return node;
  }
  if (is_keyword(parser, "fn")) {
    lex_next(parser);
    Node *node = new_node(NODE_FUNCTION);
    snprintf(node->name, sizeof node->name, "%s", parser->current.text);
    lex_next(parser);
    expect(parser, "(");
    while (parser->current.kind == TOKEN_NAME) {
      node->parameters =
          checked(realloc(node->parameters, (node->parameter_count + 1) * sizeof(char *)));
      node->parameters[node->parameter_count++] =
          duplicate(parser->current.text, strlen(parser->current.text));
      lex_next(parser);
      if (!is_punct(parser, ",")) break;
      lex_next(parser);
    }
    expect(parser, ")");
    add_child(node, parse_block(parser));
    return node;
  }
  Node *node = new_node(NODE_EXPRESSION);
  add_child(node, parse_expression(parser));
  expect(parser, ";");
  return node;
}

typedef struct Variable {
  char name[32];
  Value value;
  struct Variable *next;
} Variable;

typedef struct Scope {
  Variable *variables;
  struct Scope *parent;
} Scope;

typedef struct {
  Node **functions;
  int function_count;
  Buffer *out;
  int returning;
  Value returned;
  long steps;
  int depth;
  char error[160];
} Interpreter;

enum { INTERPRETER_STEPS_MAX = 50000000, INTERPRETER_DEPTH_MAX = 200 };

static Value number_value(double number) { return (Value){VALUE_NUMBER, number, NULL}; }

static Value string_value(const char *text) {
  return (Value){VALUE_STRING, 0, duplicate(text, strlen(text))};
}

static Variable *lookup(Scope *scope, const char *name) {
  for (; scope; scope = scope->parent)
    for (Variable *variable = scope->variables; variable; variable = variable->next)
      if (strcmp(variable->name, name) == 0) return variable;
  return NULL;
}

static void define(Scope *scope, const char *name, Value value) {
  Variable *variable = checked(calloc(1, sizeof *variable));
  snprintf(variable->name, sizeof variable->name, "%s", name);
  variable->value = value;
  variable->next = scope->variables;
  scope->variables = variable;
}

static void free_scope(Scope *scope) {
  for (Variable *variable = scope->variables, *next; variable; variable = next) {
    next = variable->next;
    free(variable);
  }
}

static int truthy(Value value) {
  return value.kind == VALUE_NUMBER ? value.number != 0 : value.string && value.string[0];
}

static void format_value(Value value, char *out, size_t size) {
  if (value.kind == VALUE_STRING) {
    snprintf(out, size, "%s", value.string ? value.string : "");
  } else if (isfinite(value.number) && value.number == floor(value.number) &&
             fabs(value.number) < 1e15) {
    snprintf(out, size, "%.0f", value.number);
  } else {
    snprintf(out, size, "%.6g", value.number);
  }
}

static Value evaluate(Interpreter *interpreter, Node *node, Scope *scope);

static void execute(Interpreter *interpreter, Node *node, Scope *scope) {
  if (interpreter->error[0] || interpreter->returning) return;
  if (++interpreter->steps > INTERPRETER_STEPS_MAX) {
    snprintf(interpreter->error, sizeof interpreter->error, "step limit reached");
    return;
  }
  switch (node->kind) {
    case NODE_LET:
      define(scope, node->name, evaluate(interpreter, node->children[0], scope));
      break;
    case NODE_BLOCK: {
      Scope inner = {NULL, scope};
      for (int i = 0; i < node->child_count && !interpreter->returning; i++)
        execute(interpreter, node->children[i], &inner);
      free_scope(&inner);
      break;
    }
    case NODE_IF:
      if (truthy(evaluate(interpreter, node->children[0], scope)))
        execute(interpreter, node->children[1], scope);
      else if (node->child_count > 2)
        execute(interpreter, node->children[2], scope);
      break;
    case NODE_WHILE:
      while (!interpreter->error[0] && !interpreter->returning &&
             truthy(evaluate(interpreter, node->children[0], scope)))
        execute(interpreter, node->children[1], scope);
      break;
    case NODE_RETURN:
      interpreter->returned = evaluate(interpreter, node->children[0], scope);
      interpreter->returning = 1;
      break;
    case NODE_FUNCTION:
      interpreter->functions = checked(realloc(
          interpreter->functions, (interpreter->function_count + 1) * sizeof(Node *)));
      interpreter->functions[interpreter->function_count++] = node;
      break;
    default:
      evaluate(interpreter, node->kind == NODE_EXPRESSION ? node->children[0] : node, scope);
  }
}

static Value call_builtin(Interpreter *interpreter, const char *name, Value *args, int count,
                          int *found) {
  *found = 1;
  double x = count > 0 && args[0].kind == VALUE_NUMBER ? args[0].number : 0;
  double y = count > 1 && args[1].kind == VALUE_NUMBER ? args[1].number : 0;
  static const struct {
    const char *name;
    double (*function)(double);
  } unary[] = {{"sqrt", sqrt}, {"sin", sin},     {"cos", cos},     {"tan", tan},
               {"exp", exp},   {"log", log},     {"log10", log10}, {"floor", floor},
               {"ceil", ceil}, {"fabs", fabs},   {"atan", atan},   {"tanh", tanh},
               {"cbrt", cbrt}, {"lgamma", lgamma}, {"erf", erf},   {"asinh", asinh}};
  for (size_t i = 0; i < sizeof unary / sizeof *unary; i++)
    if (strcmp(name, unary[i].name) == 0) return number_value(unary[i].function(x));
  if (strcmp(name, "pow") == 0) return number_value(pow(x, y));
  if (strcmp(name, "atan2") == 0) return number_value(atan2(x, y));
  if (strcmp(name, "hypot") == 0) return number_value(hypot(x, y));
  if (strcmp(name, "fmod") == 0) return number_value(fmod(x, y));
  if (strcmp(name, "len") == 0)
    return number_value(count > 0 && args[0].kind == VALUE_STRING ? strlen(args[0].string) : 0);
  if (strcmp(name, "upper") == 0 && count > 0 && args[0].kind == VALUE_STRING) {
    Value result = string_value(args[0].string);
    for (char *c = result.string; *c; c++) *c = (char)toupper((unsigned char)*c);
    return result;
  }
  if (strcmp(name, "str") == 0 && count > 0) {
    char text[64];
    format_value(args[0], text, sizeof text);
    return string_value(text);
  }
  if (strcmp(name, "num") == 0 && count > 0 && args[0].kind == VALUE_STRING)
    return number_value(strtod(args[0].string, NULL));
  if (strcmp(name, "fixed") == 0) {
    char text[64];
    snprintf(text, sizeof text, "%.*f", (int)y, x);
    return string_value(text);
  }
  if (strcmp(name, "print") == 0) {
    for (int i = 0; i < count; i++) {
      char text[256];
      format_value(args[i], text, sizeof text);
      buffer_printf(interpreter->out, "%s%s", i ? " " : "", text);
    }
    buffer_push(interpreter->out, '\n');
    return number_value(0);
  }
  *found = 0;
  return number_value(0);
}

static Value evaluate(Interpreter *interpreter, Node *node, Scope *scope) {
  if (interpreter->error[0]) return number_value(0);
  switch (node->kind) {
    case NODE_NUMBER:
      return number_value(node->number);
    case NODE_STRING:
      return string_value(node->string);
    case NODE_VARIABLE: {
      Variable *variable = lookup(scope, node->name);
      if (!variable) {
        snprintf(interpreter->error, sizeof interpreter->error, "unknown variable %s",
                 node->name);
        return number_value(0);
      }
      return variable->value;
    }
    case NODE_ASSIGN: {
      Value value = evaluate(interpreter, node->children[0], scope);
      Variable *variable = lookup(scope, node->name);
      if (variable)
        variable->value = value;
      else
        define(scope, node->name, value);
      return value;
    }
    case NODE_UNARY: {
      Value operand = evaluate(interpreter, node->children[0], scope);
      if (node->operator[0] == '-') return number_value(-operand.number);
      return number_value(!truthy(operand));
    }
    case NODE_BINARY: {
      const char *op = node->operator;
      Value left = evaluate(interpreter, node->children[0], scope);
      if (strcmp(op, "&&") == 0)
        return truthy(left) ? number_value(truthy(evaluate(interpreter, node->children[1], scope)))
                            : number_value(0);
      if (strcmp(op, "||") == 0)
        return truthy(left) ? number_value(1)
                            : number_value(truthy(evaluate(interpreter, node->children[1], scope)));
      Value right = evaluate(interpreter, node->children[1], scope);
      if (left.kind == VALUE_STRING || right.kind == VALUE_STRING) {
        char a[256], b[256];
        format_value(left, a, sizeof a);
        format_value(right, b, sizeof b);
        if (strcmp(op, "+") == 0) {
          char joined[512];
          snprintf(joined, sizeof joined, "%s%s", a, b);
          return string_value(joined);
        }
        int order = strcmp(a, b);
        if (strcmp(op, "==") == 0) return number_value(order == 0);
        if (strcmp(op, "!=") == 0) return number_value(order != 0);
        if (strcmp(op, "<") == 0) return number_value(order < 0);
        if (strcmp(op, ">") == 0) return number_value(order > 0);
        snprintf(interpreter->error, sizeof interpreter->error, "'%s' on strings", op);
        return number_value(0);
      }
      double x = left.number, y = right.number;
      switch (op[0]) {
        case '+': return number_value(x + y);
        case '-': return number_value(x - y);
        case '*': return number_value(x * y);
        case '/': return number_value(x / y);
        case '%': return number_value(fmod(x, y));
        case '^': return number_value(pow(x, y));
        case '<': return number_value(op[1] == '=' ? x <= y : x < y);
        case '>': return number_value(op[1] == '=' ? x >= y : x > y);
        case '=': return number_value(x == y);
        case '!': return number_value(x != y);
      }
      return number_value(0);
    }
    case NODE_CALL: {
      Value args[8];
      int count = node->child_count < 8 ? node->child_count : 8;
      for (int i = 0; i < count; i++) args[i] = evaluate(interpreter, node->children[i], scope);
      for (int f = 0; f < interpreter->function_count; f++) {
        Node *function = interpreter->functions[f];
        if (strcmp(function->name, node->name) != 0) continue;
        if (++interpreter->depth > INTERPRETER_DEPTH_MAX) {
          snprintf(interpreter->error, sizeof interpreter->error, "recursion too deep");
          return number_value(0);
        }
        Scope frame = {NULL, NULL};
        for (int p = 0; p < function->parameter_count; p++)
          define(&frame, function->parameters[p], p < count ? args[p] : number_value(0));
        // Functions see their parameters and the globals (the outermost scope).
        Scope *globals = scope;
        while (globals->parent) globals = globals->parent;
        frame.parent = globals;
        execute(interpreter, function->children[0], &frame);
        free_scope(&frame);
        interpreter->depth--;
        Value result = interpreter->returning ? interpreter->returned : number_value(0);
        interpreter->returning = 0;
        return result;
      }
      int found;
      Value result = call_builtin(interpreter, node->name, args, count, &found);
      if (!found)
        snprintf(interpreter->error, sizeof interpreter->error, "unknown function %s",
                 node->name);
      return result;
    }
    default:
      snprintf(interpreter->error, sizeof interpreter->error, "cannot evaluate node %d",
               node->kind);
      return number_value(0);
  }
}

// Runs a program; its output goes to out. Returns 0, or 1 with the error in out.
static int run_program(const char *source, Buffer *out) {
  Parser parser = {source, 0, 1, {0}, {0}};
  lex_next(&parser);
  Node *program = new_node(NODE_BLOCK);
  while (parser.current.kind != TOKEN_END && !parser.error[0])
    add_child(program, parse_statement(&parser));
  if (parser.error[0]) {
    buffer_printf(out, "parse error: %s\n", parser.error);
    return 1;
  }
  Interpreter interpreter = {0};
  interpreter.out = out;
  Scope globals = {NULL, NULL};
  for (int i = 0; i < program->child_count && !interpreter.error[0]; i++)
    execute(&interpreter, program->children[i], &globals);
  free_scope(&globals);
  free(interpreter.functions);
  if (interpreter.error[0]) {
    buffer_printf(out, "error: %s\n", interpreter.error);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Sorting and word counting.

typedef struct {
  const char *text;
  double number;
  int is_number;
} SortKey;

static int compare_sort_keys(const void *a, const void *b) {
  const SortKey *x = a, *y = b;
  if (x->is_number != y->is_number) return y->is_number - x->is_number;
  if (x->is_number && x->number != y->number) return x->number < y->number ? -1 : 1;
  return strcoll(x->text, y->text);
}

static void sort_lines(char **lines, size_t count, Buffer *out) {
  SortKey *keys = checked(malloc((count ? count : 1) * sizeof *keys));
  for (size_t i = 0; i < count; i++) {
    char *end;
    errno = 0;
    double number = strtod(lines[i], &end);
    keys[i] = (SortKey){lines[i], number, end != lines[i] && *end == 0 && errno == 0};
  }
  qsort(keys, count, sizeof *keys, compare_sort_keys);
  for (size_t i = 0; i < count; i++) buffer_printf(out, "%s\n", keys[i].text);
  free(keys);
}

typedef struct {
  char *word;
  int count;
} WordCount;

static int compare_words(const void *a, const void *b) {
  return strcmp(((const WordCount *)a)->word, ((const WordCount *)b)->word);
}

static int compare_counts(const void *a, const void *b) {
  const WordCount *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->word, y->word);
}

// Word frequencies (words are lower-cased wide-character runs of letters).
static void word_frequencies(const char *text, size_t top, Buffer *out) {
  size_t length = strlen(text);
  wchar_t *wide = checked(malloc((length + 1) * sizeof *wide));
  size_t count = mbstowcs(wide, text, length + 1);
  if (count == (size_t)-1) {
    buffer_printf(out, "invalid multibyte text\n");
    free(wide);
    return;
  }
  WordCount *words = NULL;
  size_t word_count = 0;
  for (size_t i = 0; i < count;) {
    if (!iswalpha((wint_t)wide[i])) {
      i++;
      continue;
    }
    wchar_t word[64];
    size_t w = 0;
    while (i < count && iswalpha((wint_t)wide[i])) {
      if (w < 63) word[w++] = (wchar_t)towlower((wint_t)wide[i]);
      i++;
    }
    word[w] = 0;
    char narrow[256];
    if (wcstombs(narrow, word, sizeof narrow) == (size_t)-1) continue;
    WordCount key = {narrow, 0};
    WordCount *found =
        word_count ? bsearch(&key, words, word_count, sizeof *words, compare_words) : NULL;
    if (found) {
      found->count++;
      continue;
    }
    words = checked(realloc(words, (word_count + 1) * sizeof *words));
    words[word_count++] = (WordCount){duplicate(narrow, strlen(narrow)), 1};
    qsort(words, word_count, sizeof *words, compare_words);
  }
  qsort(words, word_count, sizeof *words, compare_counts);
  for (size_t i = 0; i < word_count && i < top; i++) {
    wchar_t wide_word[64];
    size_t letters = mbstowcs(wide_word, words[i].word, 64);
    int columns = wcswidth(wide_word, letters);
    buffer_printf(out, "%-12s %3d (%d columns)\n", words[i].word, words[i].count, columns);
  }
  for (size_t i = 0; i < word_count; i++) free(words[i].word);
  free(words);
  free(wide);
}

// ---------------------------------------------------------------------------
// Regular expressions, character sets, time and parsing.

static int grep_lines(const char *pattern, char **lines, size_t count, Buffer *out) {
  regex_t regex;
  int status = regcomp(&regex, pattern, REG_EXTENDED | REG_NEWLINE);
  if (status != 0) {
    char message[128];
    regerror(status, &regex, message, sizeof message);
    buffer_printf(out, "bad pattern: %s\n", message);
    return -1;
  }
  int matched = 0;
  for (size_t i = 0; i < count; i++) {
    regmatch_t match[4];
    if (regexec(&regex, lines[i], 4, match, 0) != 0) continue;
    matched++;
    buffer_printf(out, "%zu:%.*s", i + 1, (int)match[0].rm_so, lines[i]);
    buffer_printf(out, "[%.*s]%s\n", (int)(match[0].rm_eo - match[0].rm_so),
                  lines[i] + match[0].rm_so, lines[i] + match[0].rm_eo);
  }
  regfree(&regex);
  return matched;
}

// UTF-8 to code points (refusing overlong and surrogate forms), then to other encodings.
static size_t decode_utf8(const unsigned char *text, uint32_t *points, size_t capacity) {
  size_t count = 0;
  while (*text && count < capacity) {
    uint32_t point = *text;
    int extra = point < 0x80 ? 0 : point >> 5 == 6 ? 1 : point >> 4 == 14 ? 2 : point >> 3 == 30 ? 3 : -1;
    if (extra < 0) return (size_t)-1;
    point &= extra == 0 ? 0x7f : 0x3f >> extra;
    for (int k = 1; k <= extra; k++) {
      if ((text[k] & 0xc0) != 0x80) return (size_t)-1;
      point = point << 6 | (text[k] & 0x3f);
    }
    static const uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
    if (point < smallest[extra] || point > 0x10ffff || (point >= 0xd800 && point < 0xe000))
      return (size_t)-1;
    points[count++] = point;
    text += extra + 1;
  }
  return count;
}

static size_t encode(const char *target, const uint32_t *points, size_t count,
                     unsigned char *out, size_t *unmappable) {
  size_t length = 0;
  *unmappable = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t point = points[i];
    if (strcmp(target, "ISO-8859-1") == 0) {
      if (point > 0xff) point = '?', ++*unmappable;
      out[length++] = (unsigned char)point;
    } else if (strcmp(target, "UTF-16LE") == 0) {
      if (point >= 0x10000) {
        uint32_t high = 0xd800 + ((point - 0x10000) >> 10), low = 0xdc00 + (point & 0x3ff);
        out[length++] = (unsigned char)high, out[length++] = (unsigned char)(high >> 8);
        point = low;
      }
      out[length++] = (unsigned char)point, out[length++] = (unsigned char)(point >> 8);
    } else if (strcmp(target, "UTF-32BE") == 0) {
      for (int shift = 24; shift >= 0; shift -= 8) out[length++] = (unsigned char)(point >> shift);
    } else {  // ASCII with transliteration of the Latin-1 letters used here
      static const char *const folded[] = {"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E",
                                           "I", "I", "I", "I", "D", "N", "O", "O", "O", "O", "O", "x",
                                           "O", "U", "U", "U", "U", "Y", "TH", "ss"};
      if (point < 0x80) {
        out[length++] = (unsigned char)point;
      } else if (point >= 0xc0 && point < 0x100) {
        const char *letters = folded[(point & ~0x20u) - 0xc0];
        int lower = point >= 0xe0 && point != 0xdf;
        for (const char *c = letters; *c; c++)
          out[length++] = (unsigned char)(lower ? tolower((unsigned char)*c) : *c);
      } else {
        out[length++] = '?', ++*unmappable;
      }
    }
  }
  return length;
}

static void convert_charsets(const char *utf8, Buffer *out) {
  static const char *const targets[] = {"ISO-8859-1", "UTF-16LE", "UTF-32BE", "ASCII"};
  uint32_t points[256];
  size_t count = decode_utf8((const unsigned char *)utf8, points, 256);
  if (count == (size_t)-1) {
    buffer_printf(out, "invalid UTF-8\n");
    return;
  }
  for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
    unsigned char encoded[1024];
    size_t unmappable;
    size_t written = encode(targets[t], points, count, encoded, &unmappable);
    buffer_printf(out, "%-12s %3zu bytes, crc %08" PRIx32 ", %zu unmappable", targets[t], written,
                  crc32_of(encoded, written), unmappable);
    if (strcmp(targets[t], "ASCII") == 0) buffer_printf(out, ": %.*s", (int)written, encoded);
    buffer_push(out, '\n');
  }
}

static void dates(Buffer *out) {
  static const time_t moments[] = {0, 951782400, 1234567890, 1700000000, 4102444800};
  for (size_t i = 0; i < sizeof moments / sizeof *moments; i++) {
    struct tm broken;
    gmtime_r(&moments[i], &broken);
    char text[128];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %a %b, day %j, week %V", &broken);
    time_t back = timegm(&broken);
    buffer_printf(out, "%11lld %s%s\n", (long long)moments[i], text,
                  back == moments[i] ? "" : " (round trip failed)");
  }
}

static void parse_records(Buffer *out) {
  static const char *const records[] = {
      "alpha 12 3.25 0x1f", "beta -7 1e-3 0777", "gamma 42 6.02e23 1010", "delta 0 -0.5 99",
  };
  double total = 0;
  for (size_t i = 0; i < sizeof records / sizeof *records; i++) {
    char name[16];
    int count;
    double weight;
    char code[16];
    if (sscanf(records[i], "%15s %d %lf %15s", name, &count, &weight, code) != 4) {
      buffer_printf(out, "unparsed: %s\n", records[i]);
      continue;
    }
    long value = strtol(code, NULL, 0);
    unsigned long long binary = strtoull(code, NULL, 2);
    total += weight * count;
    buffer_printf(out, "%-6s %+4d %12.4e %#8lx %6llu %10.3g\n", name, count, weight,
                  (unsigned long)value, binary, weight * count);
  }
  buffer_printf(out, "total %.6f, a third of it %a\n", total, total / 3);
}

// ---------------------------------------------------------------------------
// The whole demo: each part on built-in data, each part's output summarised.

static const char sample_text[] =
    "It was the best of times, it was the worst of times, it was the age of wisdom,\n"
    "it was the age of foolishness, it was the epoch of belief, it was the epoch of\n"
    "incredulity, it was the season of Light, it was the season of Darkness, it was\n"
    "the spring of hope, it was the winter of despair. Größe, café, naïve, Ærø, élan.\n"
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich: 12 345 67.5\n";

static const char sample_program[] =
    "fn fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\n"
    "fn gcd(a, b) { while (b != 0) { let t = b; b = a % b; a = t; } return a; }\n"
    "let i = 0;\n"
    "while (i < 12) { print(i, fib(i), gcd(i * 12, 18), fixed(sqrt(i), 4)); i = i + 1; }\n"
    "let s = \"wasm\";\n"
    "print(upper(s) + \"-\" + str(len(s)), 2 ^ 10, fixed(lgamma(10), 6), fixed(atan2(1, 1) * 4, 8));\n"
    "let acc = 0; let k = 1;\n"
    "while (k <= 2000) { acc = acc + 1 / (k * k); k = k + 1; }\n"
    "print(\"basel\", fixed(sqrt(acc * 6), 6));\n";

static size_t report_part(const char *name, Buffer *part, int verbose) {
  char digest[65];
  Sha256 sha;
  sha256_init(&sha);
  sha256_update(&sha, part->data, part->length);
  sha256_hex(&sha, digest);
  printf("== %-10s %5zu bytes, sha256 %.16s\n", name, part->length, digest);
  if (verbose) fwrite(part->data, 1, part->length, stdout);
  return part->length;
}

static int demo(int verbose) {
  int failures = 0;
  Buffer part = {0};

  // Interpreter.
  failures += run_program(sample_program, &part) != 0;
  report_part("calc", &part, verbose);

  // Compression round trip on a repetitive text.
  part.length = 0;
  Buffer input = {0};
  for (int i = 0; i < 40; i++) buffer_append(&input, sample_text, sizeof sample_text - 1);
  Buffer packed = compress(input.data, input.length);
  Buffer unpacked = {0};
  int round_trip = decompress(packed.data, packed.length, &unpacked) == 0 &&
                   unpacked.length == input.length &&
                   memcmp(unpacked.data, input.data, input.length) == 0;
  failures += !round_trip;
  buffer_printf(&part, "%zu -> %zu bytes (%.1f%%), crc %08" PRIx32 ", round trip %s\n",
                input.length, packed.length, 100.0 * packed.length / input.length,
                crc32_of(input.data, input.length), round_trip ? "ok" : "FAILED");
  report_part("compress", &part, verbose);

  // Sorting.
  part.length = 0;
  char *sortable = duplicate("pear\n10\nfig\n-2.5\napple\n3e2\nbanana\n7\nkiwi\n0x10\n", 48);
  char **lines;
  size_t count = split_lines(sortable, &lines);
  sort_lines(lines, count, &part);
  free(lines);
  free(sortable);
  report_part("sort", &part, verbose);

  // Regex over the text.
  part.length = 0;
  char *text = duplicate(sample_text, sizeof sample_text - 1);
  count = split_lines(text, &lines);
  failures += grep_lines("(season|epoch) of [A-Za-z]+", lines, count, &part) != 2;
  failures += grep_lines("[0-9]+( [0-9]+)*\\.?[0-9]*", lines, count, &part) != 1;
  free(lines);
  free(text);
  report_part("grep", &part, verbose);

  // Words, wide characters.
  part.length = 0;
  word_frequencies(sample_text, 8, &part);
  report_part("words", &part, verbose);

  // Character sets.
  part.length = 0;
  convert_charsets("Größe café naïve Ærø élan", &part);
  report_part("charsets", &part, verbose);

  // Dates.
  part.length = 0;
  dates(&part);
  report_part("dates", &part, verbose);

  // Parsing and formatting numbers.
  part.length = 0;
  parse_records(&part);
  report_part("records", &part, verbose);

  free(part.data);
  free(input.data);
  free(packed.data);
  free(unpacked.data);
  printf("textkit %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  setlocale(LC_ALL, "C.UTF-8");
  static const struct option options[] = {{"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  int verbose = 0, option;
  while ((option = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
    if (option == 'v') verbose = 1;
    if (option == 'h' || option == '?') {
      fputs("usage: textkit [-v] [calc PROGRAM | compress | grep REGEX | sort | sha256 | words]\n",
            option == 'h' ? stdout : stderr);
      return option == 'h' ? 0 : 2;
    }
  }
  if (optind >= argc) return demo(verbose);
  const char *command = argv[optind];
  Buffer out = {0};
  int status = 0;
  if (strcmp(command, "calc") == 0 && optind + 1 < argc) {
    status = run_program(argv[optind + 1], &out);
  } else {
    Buffer input = read_all(stdin);
    buffer_push(&input, 0);
    input.length--;
    if (strcmp(command, "compress") == 0) {
      Buffer packed = compress(input.data, input.length);
      Buffer unpacked = {0};
      int ok = decompress(packed.data, packed.length, &unpacked) == 0 &&
               unpacked.length == input.length &&
               (input.length == 0 || memcmp(unpacked.data, input.data, input.length) == 0);
      buffer_printf(&out, "%zu -> %zu bytes, crc %08" PRIx32 ", round trip %s\n", input.length,
                    packed.length, crc32_of(input.data, input.length), ok ? "ok" : "FAILED");
      status = !ok;
    } else if (strcmp(command, "sha256") == 0) {
      Sha256 sha;
      char digest[65];
      sha256_init(&sha);
      sha256_update(&sha, input.data, input.length);
      sha256_hex(&sha, digest);
      buffer_printf(&out, "%s\n", digest);
    } else if (strcmp(command, "words") == 0) {
      word_frequencies((char *)input.data, 20, &out);
    } else if (strcmp(command, "sort") == 0 || (strcmp(command, "grep") == 0 && optind + 1 < argc)) {
      char **lines;
      size_t count = split_lines((char *)input.data, &lines);
      if (command[0] == 's')
        sort_lines(lines, count, &out);
      else
        status = grep_lines(argv[optind + 1], lines, count, &out) > 0 ? 0 : 1;
      free(lines);
    } else {
      fprintf(stderr, "textkit: unknown command %s (try --help)\n", command);
      return 2;
    }
    free(input.data);
  }
  fwrite(out.data, 1, out.length, stdout);
  free(out.data);
  return status;
}
