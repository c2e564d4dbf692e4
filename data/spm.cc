// spm.cc: the SentencePiece shim, the only C++ in sdlm.
//
// Each extern "C" function of spm.h is a thin wrapper: it calls
// SentencePiece 0.1.97, turns a non-ok util::Status into an Err, and catches
// every C++ exception before it can cross into C (an uncaught one would abort).
// What it is not: the corpus reader or the sampling of training lines (both C,
// in corpus.c and spm_train.c).
extern "C" {
#include "err.h"
#include "fileguard.h"
#include "rng.h"
}
#include "spm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sp = sentencepiece;

// Exported by libsentencepiece (0.1.97) but declared only in its internal
// common.h: the level below which its LOG() lines are dropped (0 info,
// 1 warning, 2 error). They go straight to std::cerr.
namespace sentencepiece {
namespace logging {
int GetMinLogLevel();
void SetMinLogLevel(int v);
}  // namespace logging
}  // namespace sentencepiece

enum { SPM_LOG_ERRORS_ONLY = 2 };

// Errors only: its warnings are not the user's to act on, and they flood a
// terminal. NBestEncode (spm_encode_sample) warns "Too big agenda size
// 10000. Shrinking (round k) down to 50." eight times for each long line it
// samples, so a corpus with one 10 MB line printed a screenful a step. Set
// when a model loads and again after training, whose --minloglevel flag sets
// the same global.
static void quiet_logs() { sp::logging::SetMinLogLevel(SPM_LOG_ERRORS_ONLY); }

struct Spm {
    sp::SentencePieceProcessor proc;
    std::string bytes;  // the serialized model, exactly as loaded
    int V = 0;
};

// SentencePiece errors read "./src/file.cc(123) [condition] what happened":
// keep what happened, or the whole text when there is nothing after the ']'.
static std::string short_msg(const sp::util::Status &st) {
    std::string m = st.error_message();
    size_t at = m.find("] ");
    if (m.compare(0, 6, "./src/") == 0 && at != std::string::npos && at + 2 < m.size())
        m = m.substr(at + 2);
    return m;
}

// Runs f, turning any exception into an Err; returns f's result or fail.
template <typename T, typename F>
static T guarded(Err *e, const char *what, T fail, F f) {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        err_set(e, "%s: out of memory", what);
    } catch (const std::exception &x) {
        err_set(e, "%s: %s", what, x.what());
    } catch (...) {
        err_set(e, "%s: unexpected C++ exception", what);
    }
    return fail;
}

// Copies src into buf (cap >= 1), cut to at most cap-1 bytes without splitting
// a UTF-8 character, NUL-terminated.
static void copy_utf8(char *buf, size_t cap, const std::string &src) {
    size_t n = src.size();
    if (n > cap - 1) {
        n = cap - 1;
        // Back up over continuation bytes to the start of the cut character.
        while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) n--;
    }
    memcpy(buf, src.data(), n);
    buf[n] = '\0';
}

extern "C" Spm *spm_load_bytes(const void *data, size_t n, Err *e) {
    return guarded<Spm *>(e, "loading tokenizer", nullptr, [&]() -> Spm * {
        quiet_logs();
        if (!data || n == 0) {
            err_set(e, "tokenizer model is empty (0 bytes)");
            return nullptr;
        }
        Spm *s = new Spm;
        s->bytes.assign(static_cast<const char *>(data), n);
        sp::util::Status st = s->proc.LoadFromSerializedProto(s->bytes);
        if (!st.ok()) {
            std::string m = short_msg(st);
            if (m.find("ParseFromArray") != std::string::npos)
                m = "the bytes are not a SentencePiece model";
            err_set(e, "tokenizer model (%zu bytes): %s", n, m.c_str());
            delete s;
            return nullptr;
        }
        s->V = s->proc.GetPieceSize();
        if (s->V <= 0) {
            err_set(e, "tokenizer model (%zu bytes) has no pieces", n);
            delete s;
            return nullptr;
        }
        return s;
    });
}

extern "C" Spm *spm_load(const char *path, Err *e) {
    int fd = fileguard_open_regular(path, "a SentencePiece .model file", e);
    if (fd < 0) return nullptr;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        err_set(e, "%s: %s", path, strerror(errno));
        close(fd);
        return nullptr;
    }
    std::vector<char> buf;
    Spm *s = guarded<Spm *>(e, path, nullptr, [&]() -> Spm * {
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + got);
        if (ferror(f)) {
            err_set(e, "%s: read error: %s", path, strerror(errno));
            return nullptr;
        }
        Spm *r = spm_load_bytes(buf.data(), buf.size(), e);
        if (!r) err_wrap(e, "%s", path);
        return r;
    });
    fclose(f);
    return s;
}

extern "C" void spm_free(Spm *s) { delete s; }

extern "C" const void *spm_model_bytes(const Spm *s, size_t *n) {
    *n = s->bytes.size();
    return s->bytes.data();
}

extern "C" int spm_vocab_size(const Spm *s) { return s->V; }
extern "C" int spm_pad_id(const Spm *s) {
    return guarded<int>(nullptr, "", -1, [&] { return s->proc.pad_id(); });
}
extern "C" int spm_unk_id(const Spm *s) {
    return guarded<int>(nullptr, "", -1, [&] { return s->proc.unk_id(); });
}
extern "C" int spm_eos_id(const Spm *s) {
    return guarded<int>(nullptr, "", -1, [&] { return s->proc.eos_id(); });
}

static int put_ids(const std::vector<int> &v, int *ids, int cap, int *n) {
    int m = static_cast<int>(std::min(v.size(), static_cast<size_t>(cap > 0 ? cap : 0)));
    std::copy(v.begin(), v.begin() + m, ids);
    *n = static_cast<int>(v.size());
    return 0;
}

extern "C" int spm_encode(const Spm *s, const char *text, size_t len, int *ids, int cap, int *n,
                          Err *e) {
    return guarded<int>(e, "encoding", -1, [&]() -> int {
        std::vector<int> v;
        sp::util::Status st = s->proc.Encode(std::string_view(text, len), &v);
        if (!st.ok()) return err_set(e, "encoding %zu bytes: %s", len, short_msg(st).c_str());
        return put_ids(v, ids, cap, n);
    });
}

// Same distribution as SentencePieceProcessor::SampleEncode(text, 5, 0.1)
// (one of the n best segmentations, with weight exp(alpha * score)), but the
// draw comes from the caller's Rng instead of SentencePiece's thread-local one.
extern "C" int spm_encode_sample(const Spm *s, const char *text, size_t len, Rng *rng, int *ids,
                                 int cap, int *n, Err *e) {
    if (len == 0) {
        *n = 0;
        return 0;
    }
    return guarded<int>(e, "sample-encoding", -1, [&]() -> int {
        sp::ImmutableNBestSentencePieceText nbest;
        sp::util::Status st = s->proc.NBestEncode(std::string_view(text, len), SPM_SAMPLE_NBEST,
                                                  nbest.mutable_proto());
        if (!st.ok()) return err_set(e, "sample-encoding %zu bytes: %s", len, short_msg(st).c_str());
        size_t k = nbest.nbests_size();
        if (k == 0) return err_set(e, "sample-encoding %zu bytes: no segmentation found", len);
        std::vector<double> w(k);
        double top = -INFINITY, sum = 0;
        for (size_t i = 0; i < k; i++) top = std::max(top, static_cast<double>(nbest.nbests(i).score()));
        for (size_t i = 0; i < k; i++) {
            w[i] = std::exp(SPM_SAMPLE_ALPHA * (nbest.nbests(i).score() - top));
            sum += w[i];
        }
        double u = rng_uniform(rng) * sum;
        size_t pick = 0;
        while (pick + 1 < k && u >= w[pick]) u -= w[pick++];
        sp::ImmutableSentencePieceText best = nbest.nbests(static_cast<int>(pick));
        std::vector<int> v(best.pieces_size());
        for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<int>(best.pieces(static_cast<int>(i)).id());
        return put_ids(v, ids, cap, n);
    });
}

extern "C" int spm_decode(const Spm *s, const int *ids, int n, char *buf, size_t cap, size_t *len,
                          Err *e) {
    if (cap < 1) return err_set(e, "decoding: no room for the text (buffer of 0 bytes)");
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->V)
            return err_set(e, "decoding: id %d at position %d is outside the vocabulary [0, %d)", ids[i], i,
                           s->V);
    return guarded<int>(e, "decoding", -1, [&]() -> int {
        std::vector<int> v(ids, ids + n);
        std::string text;
        sp::util::Status st = s->proc.Decode(v, &text);
        if (!st.ok()) return err_set(e, "decoding %d ids: %s", n, short_msg(st).c_str());
        copy_utf8(buf, cap, text);
        if (len) *len = text.size();
        return 0;
    });
}

extern "C" int spm_piece(const Spm *s, int id, char *buf, size_t cap, Err *e) {
    if (cap < 1) return err_set(e, "piece %d: no room for the text (buffer of 0 bytes)", id);
    buf[0] = '\0';
    if (id < 0 || id >= s->V) return err_set(e, "piece id %d is outside the vocabulary [0, %d)", id, s->V);
    return guarded<int>(e, "piece", -1, [&]() -> int {
        copy_utf8(buf, cap, s->proc.IdToPiece(id));
        return 0;
    });
}

// ---- training ----

namespace {

// Feeds the trainer from a C callback, cutting long lines for it.
class LineIterator : public sp::SentenceIterator {
  public:
    LineIterator(SpmLineFn next, void *ctx) : next_(next), ctx_(ctx) { Fetch(); }
    bool done() const override { return done_; }
    void Next() override { Fetch(); }
    const std::string &value() const override { return line_; }
    sp::util::Status status() const override {
        if (failed_) return sp::util::Status(sp::util::StatusCode::kInternal, err_.msg);
        return sp::util::Status();
    }
    long count() const { return count_; }
    bool failed() const { return failed_; }
    const Err &err() const { return err_; }

  private:
    void Fetch() {
        if (done_) return;
        const char *p = nullptr;
        size_t n = 0;
        int r = next_(ctx_, &p, &n, &err_);
        if (r != 1) {
            done_ = true;
            failed_ = r < 0;
            return;
        }
        if (n > SPM_TRAIN_MAX_LINE_BYTES) {
            n = SPM_TRAIN_MAX_LINE_BYTES;
            while (n > 0 && (static_cast<unsigned char>(p[n]) & 0xC0) == 0x80) n--;
        }
        line_.assign(p, n);
        count_++;
    }
    SpmLineFn next_;
    void *ctx_;
    std::string line_;
    bool done_ = false, failed_ = false;
    long count_ = 0;
    Err err_ = {};
};

// Writes data to path atomically: PATH.tmpXXXXXX, fsync, rename, fsync dir.
int write_atomic(const std::string &path, const std::string &data, Err *e) {
    std::string tmp = path + ".tmpXXXXXX";
    std::vector<char> name(tmp.begin(), tmp.end());
    name.push_back('\0');
    int fd = mkstemp(name.data());
    if (fd < 0) return err_set(e, "cannot write %s: %s", path.c_str(), strerror(errno));
    const char *step = "writing";
    size_t off = 0;
    while (off < data.size()) {
        ssize_t w = write(fd, data.data() + off, data.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) goto fail;
        off += static_cast<size_t>(w);
    }
    step = "syncing";
    if (fsync(fd) != 0) goto fail;
    step = "closing";
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    step = "renaming into place";
    if (rename(name.data(), path.c_str()) != 0) goto fail;
    {
        std::string dir = ".";
        size_t slash = path.rfind('/');
        if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
        int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);  // best effort: the file itself is complete already
            close(dfd);
        }
    }
    return 0;
fail:
    int saved = errno;
    if (fd >= 0) close(fd);
    unlink(name.data());
    return err_set(e, "%s %s: %s", step, path.c_str(), strerror(saved));
}

// Points fd 2 at /dev/null until restore(): the trainer's chatter is thrown
// away (its errors come back as a Status).
struct StderrCapture {
    int saved = -1;
    void start() {
        fflush(stderr);
        std::cerr.flush();
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0) return;  // cannot redirect: better chatter than no training
        saved = dup(2);
        if (saved < 0 || dup2(null, 2) < 0) {
            if (saved >= 0) close(saved);
            saved = -1;
        }
        close(null);
    }
    void restore() {
        fflush(stderr);
        std::cerr.flush();
        if (saved >= 0) {
            dup2(saved, 2);
            close(saved);
            saved = -1;
        }
    }
};

}  // namespace

extern "C" int spm_train_lines(SpmLineFn next, void *ctx, const char *prefix, int vocab,
                               SpmTrainInfo *info, Err *e) {
    auto t0 = std::chrono::steady_clock::now();
    if (!prefix || !*prefix) return err_set(e, "tokenizer output prefix is empty");
    if (vocab < 1) return err_set(e, "vocab size %d: must be positive (default %d)", vocab, SPM_DEFAULT_VOCAB);
    return guarded<int>(e, "training tokenizer", -1, [&]() -> int {
        // Find out now, not after training, whether the output can be written.
        std::string model = std::string(prefix) + ".model";
        std::string probe = model + ".tmpXXXXXX";
        std::vector<char> name(probe.begin(), probe.end());
        name.push_back('\0');
        int pfd = mkstemp(name.data());
        if (pfd < 0) return err_set(e, "cannot write %s: %s", model.c_str(), strerror(errno));
        close(pfd);
        unlink(name.data());
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int threads = static_cast<int>(std::max(1L, std::min(cores, 8L)));
        // Ids: pad 0, unk 1, eos 2, no bos; bytes follow (byte fallback).
        // The sample of lines is drawn by the caller, so the trainer takes all
        // it is given, in order (input_sentence_size 0 = no limit).
        std::string args = "--model_type=unigram --vocab_size=" + std::to_string(vocab) +
                           " --hard_vocab_limit=false"
                           " --pad_id=0 --unk_id=1 --eos_id=2 --bos_id=-1"
                           " --normalization_rule_name=identity --remove_extra_whitespaces=false"
                           " --byte_fallback=true"
                           " --input_sentence_size=0 --shuffle_input_sentence=false"
                           " --max_sentence_length=" +
                           std::to_string(SPM_TRAIN_MAX_LINE_BYTES) +
                           " --num_threads=" + std::to_string(threads) +
                           " --minloglevel=" + std::to_string(SPM_LOG_ERRORS_ONLY);
        LineIterator it(next, ctx);
        std::string proto;
        sp::util::Status st;
        std::exception_ptr thrown;
        StderrCapture cap;
        cap.start();
        // A fresh thread gets a freshly seeded SentencePiece generator.
        sp::SetRandomGeneratorSeed(20240611u);
        std::thread worker([&] {
            try {
                st = sp::SentencePieceTrainer::Train(args, &it, &proto);
            } catch (...) {
                thrown = std::current_exception();
            }
        });
        worker.join();
        cap.restore();
        quiet_logs();
        if (thrown) std::rethrow_exception(thrown);
        if (it.failed()) {
            err_set(e, "%s", it.err().msg);
            return -1;
        }
        if (it.count() == 0) return err_set(e, "no lines to train the tokenizer on");
        if (!st.ok()) {
            std::string m = short_msg(st);
            int have = 0, need = 0;
            size_t at = m.find("required_chars. ");
            if (at != std::string::npos &&
                sscanf(m.c_str() + at + strlen("required_chars. "), "%d vs %d", &have, &need) == 2)
                return err_set(e,
                               "vocab %d is too small for this corpus: it needs at least %d (256 byte "
                               "pieces, pad, unk, eos and %d characters); try %d",
                               vocab, need, need - 259, std::max(need + 100, static_cast<int>(SPM_DEFAULT_VOCAB)));
            return err_set(e, "training tokenizer: %s", m.c_str());
        }
        sp::SentencePieceProcessor check;
        st = check.LoadFromSerializedProto(proto);
        if (!st.ok()) return err_set(e, "trained tokenizer does not load: %s", short_msg(st).c_str());
        std::string vocab_text;
        for (int i = 0; i < check.GetPieceSize(); i++) {
            char score[32];
            snprintf(score, sizeof score, "\t%g\n", static_cast<double>(check.GetScore(i)));
            vocab_text += check.IdToPiece(i);
            vocab_text += score;
        }
        if (write_atomic(std::string(prefix) + ".model", proto, e) < 0) return -1;
        if (write_atomic(std::string(prefix) + ".vocab", vocab_text, e) < 0) return -1;
        if (info) {
            info->pieces = check.GetPieceSize();
            info->lines_used = it.count();
            info->seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        return 0;
    });
}
