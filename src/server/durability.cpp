// The journal on the server's side (--journal; the format, recovery and writer are
// src/journal/): channels rebuilt from it at start-up, a record appended per publication,
// one commit per loop turn before that turn's replies are written, and the replies to
// journaled publications held until then.
//
// A reply is held, not written late: the control channel keeps a held PUB reply in its
// client's output, with everything after it, and writes it once settle() has the commit's
// verdict (an error turns it into "ERR journal: <reason>"); a webhook connection stops
// serving its pipelined requests until its answer is settled. Under --fsync always the
// append commits at once and nothing is held.
//
// A failing journal (a full disk, EFBIG, EIO) does not stop publication: messages are
// still delivered and kept in memory, their publishers are told that the journal did not
// take them, and the writer is retried every second. When it works again, every channel's
// numbering is recorded (a meta record), so a restart numbers on after the messages the
// journal missed. Until then the file DIR/failing says so: a server that stops (or dies)
// meanwhile finds it at the next start, and every channel comes back in a new epoch, its
// kept messages journaled again there. Clients that resume get the gap notice instead of
// numbers that clients already saw for other messages.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "journal/files.h"
#include "journal/recovery.h"
#include "robot/errcode.h"
#include "server/server.h"

namespace wspush::server {
namespace {

constexpr uint32_t kJournalRetryMs = 1000;
constexpr char kFailingMark[] = "failing";  // in DIR while publications miss the journal
constexpr size_t kMaxPendingDrops = 4096;  // forgotten channels remembered while it fails
constexpr uint64_t kSegmentBytes = 4ull << 20;  // at most journal_max / 4

journal::Options journal_options(const Config& cfg) {
    journal::Options o;
    o.fsync = cfg.fsync == JournalSync::kAlways  ? journal::Fsync::kAlways
              : cfg.fsync == JournalSync::kBatch ? journal::Fsync::kBatch
                                                 : journal::Fsync::kNever;
    o.max_bytes = cfg.journal_max;
    o.segment_bytes = std::min(kSegmentBytes, cfg.journal_max / 4);
    o.history = cfg.history;
    o.history_bytes = cfg.history_bytes;
    return o;
}

}  // namespace

bool Server::open_journal(std::string& err) {
    if (cfg_.journal_dir.empty() || unused_in_echo("journal")) return true;
    // A file-size limit must make a write fail (EFBIG), not end the process.
    signal(SIGXFSZ, SIG_IGN);
    const uint64_t t0 = base::monotonic_ms();
    const journal::Options o = journal_options(cfg_);
    journal::Recovered rec;
    journal::Error e;
    if (!journal::recover(cfg_.journal_dir, o, rec, e)) {
        err = e.text;
        return false;
    }
    for (const std::string& note : rec.notes) LOG_WARN("%s", note.c_str());
    const std::string mark = journal::join(cfg_.journal_dir, kFailingMark);
    const bool renumber = access(mark.c_str(), F_OK) == 0;
    if (renumber)
        LOG_WARN("journal %s: the last run stopped while the journal was failing: channels come back in new epochs "
                 "(resuming clients get the gap notice)", cfg_.journal_dir.c_str());

    hub_.epochs_above(rec.max_epoch);
    size_t channels = 0, messages = 0, over_limit = 0;
    std::vector<const journal::RecoveredChannel*> empty;
    for (const journal::RecoveredChannel& rc : rec.channels) {
        // A channel whose kept messages are all gone lives on only in its numbering, and a
        // channel with nothing kept is forgotten (a new epoch when it comes back): recorded
        // as dropped below, so the next start does not look at it again.
        if (rc.messages.empty() || !push::valid_name(rc.name)) {
            empty.push_back(&rc);
            continue;
        }
        if (hub_.find(rc.name) == nullptr && hub_.at_channel_limit()) {
            ++over_limit;  // kept on disk: a restart with a larger --max-channels has it
            continue;
        }
        bool restored = false;
        for (const journal::RecoveredMessage& m : rc.messages) {
            push::Channel* ch = hub_.find(rc.name);
            if (ch == nullptr) ch = hub_.restore(rc.name, renumber ? 0 : rc.epoch, m.seq);
            if (ch == nullptr || !hub_.restore_message(*ch, m.binary ? ws::Opcode::kBinary : ws::Opcode::kText,
                                                       m.payload.data(), m.payload.size())) {
                err = "journal: out of memory restoring channel " + rc.name;
                return false;
            }
            restored = true;
            ++messages;
        }
        channels += restored;
    }
    // From now on a forgotten channel's numbering ends on disk too (a channel is never made
    // again in the same epoch: only a restore above reuses one).
    hub_.on_forget([](void* self, const push::Channel& ch) {
        static_cast<Server*>(self)->journal_drops_.push_back({std::string(ch.name()), ch.epoch});
    }, this);
    journal_ = std::make_unique<journal::Writer>();
    if (!journal_->open(cfg_.journal_dir, o, rec, e)) {
        err = e.text;
        return false;
    }
    for (const journal::RecoveredChannel* rc : empty) journal_drops_.push_back({rc->name, rc->epoch});
    journal_record_drops();
    if (renumber) {  // the kept messages, journaled again in their channel's new epoch
        hub_.for_each_channel([&](const push::Channel& ch) {
            for (uint32_t i = 0; i < ch.ring_count; ++i) {
                const push::Publication& pub = *ch.kept(i);
                const push::Message& raw = *pub.raw();
                (void)journal_->append_message(ch.name(), ch.epoch, pub.seq(), raw.opcode() == ws::Opcode::kBinary,
                                               {reinterpret_cast<const char*>(raw.payload()), raw.payload_size()});
            }
        });
    }
    if (journal_->commit() < 0) {
        err = journal_->error().text;
        return false;
    }
    if (renumber && unlink(mark.c_str()) != 0) {
        err = "journal: cannot remove " + mark + ": " + strerror(errno);
        return false;
    }
    using ull = unsigned long long;
    LOG_INFO("journal %s: %zu channels, %zu messages recovered in %llu ms (fsync %s, up to %llu bytes; "
             "%zu segments: %u by their index, %u scanned, %u read, %llu bytes read; %llu bytes cut)",
             cfg_.journal_dir.c_str(), channels, messages, (ull)(base::monotonic_ms() - t0), fsync_name(cfg_.fsync),
             (ull)cfg_.journal_max, rec.segments.size(), rec.indexes_used, rec.segments_scanned, rec.segments_read,
             (ull)rec.bytes_read, (ull)rec.bytes_cut);
    if (over_limit)
        LOG_WARN("journal: %zu channels not restored: --max-channels %u reached (they stay on disk)", over_limit,
                 cfg_.max_channels);
    return true;
}

void Server::journal_record_drops() {
    // A drop the journal does not take stays listed until it works again (journal_retry):
    // without it a restart would bring the channel back at the numbering the journal last
    // saw, below what its epoch went on to.
    size_t done = 0;
    for (; done < journal_drops_.size(); ++done) {
        const auto& [name, epoch] = journal_drops_[done];
        if (journal_->append_drop(name, epoch) < 0 && journal_->error().code != 0) break;
    }
    // In the batch until the commit, unless that was the append itself (--fsync always).
    if (cfg_.fsync != JournalSync::kAlways)
        journal_batch_drops_.insert(journal_batch_drops_.end(), journal_drops_.begin(), journal_drops_.begin() + done);
    journal_drops_.erase(journal_drops_.begin(), journal_drops_.begin() + done);
    if (journal_drops_.empty()) return;
    journal_failed();
    // Bounded: past kMaxPendingDrops the list goes, and DIR/failing stays until a restart,
    // which then numbers every channel afresh (open_journal) — what the list was for.
    if (journal_drops_.size() > kMaxPendingDrops) {
        journal_drops_.clear();
        journal_renumber_ = true;
    }
}

int Server::journal_append(std::string_view channel, uint64_t epoch, uint64_t seq, ws::Opcode op,
                           std::string_view data) {
    if (!journal_) return 0;
    const int rc = journal_->append_message(channel, epoch, seq, op == ws::Opcode::kBinary, data);
    if (!journal_drops_.empty()) journal_record_drops();
    if (rc < 0) {
        journal_failed();
        return rc;
    }
    return cfg_.fsync == JournalSync::kAlways ? 0 : 1;
}

void Server::journal_failed() {
    if (journal_retry_at_ != 0) return;  // told already
    journal_retry_at_ = now_ms_ + kJournalRetryMs;
    // An empty file: it needs no data block, so a full disk still takes it in most cases.
    const std::string mark = journal::join(cfg_.journal_dir, kFailingMark);
    const int fd = ::open(mark.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) ::close(fd);
    else LOG_WARN("journal: cannot create %s: %s", mark.c_str(), strerror(errno));
    journal_marked_ = true;
    LOG_ERROR("%s; pushes are still delivered, but not journaled: publishers get \"ERR journal\" "
              "(webhook 503001) until it works again (tried every second)",
              journal_->error().text);
}

void Server::journal_retry() {
    if (journal_->retry() < 0) {
        journal_retry_at_ = now_ms_ + kJournalRetryMs;
        return;
    }
    journal_retry_at_ = 0;
    // What was published meanwhile is not on disk: record each channel's numbering, so a
    // restart numbers on after it.
    hub_.for_each_channel([&](const push::Channel& ch) {
        if (ch.next_seq > 1) (void)journal_->append_meta(ch.name(), ch.epoch, ch.next_seq - 1);
    });
    // ... and each channel forgotten meanwhile.
    journal_record_drops();
    LOG_INFO("journal %s: writing again", cfg_.journal_dir.c_str());
}

int Server::journal_write() {
    int rc = journal_->has_batch() ? journal_->commit() : 0;
    if (rc == 0 && journal_->error().code != 0) journal_failed();  // the batch is in; sealing failed
    if (rc < 0) {
        journal_failed();
        // The batch is gone: its drops are recorded again once the journal works, and the
        // turn's held replies are refused (some may have been in an earlier write that
        // succeeded: refused all the same, so a retry may duplicate but nothing is lost).
        journal_drops_.insert(journal_drops_.begin(), journal_batch_drops_.begin(), journal_batch_drops_.end());
        journal_turn_rc_ = rc;
    }
    journal_batch_drops_.clear();
    return rc;
}

void Server::journal_commit() {
    if (!journal_) return;
    if (!journal_drops_.empty()) journal_record_drops();
    (void)journal_write();
    const int rc = journal_turn_rc_;
    journal_turn_rc_ = 0;
    // Written again, the numbering the journal missed included: the mark can go.
    if (rc == 0 && journal_marked_ && journal_retry_at_ == 0 && !journal_renumber_) {
        const std::string mark = journal::join(cfg_.journal_dir, kFailingMark);
        if (unlink(mark.c_str()) == 0 || errno == ENOENT) journal_marked_ = false;
    }
    const std::string_view why = rc < 0 ? journal_reason() : std::string_view();
    if (control_ && control_->has_held()) control_->settle(why);
    if (held_webhooks_.empty()) return;
    // Answers, in order; a connection may serve its next pipelined request now, whose own
    // publication waits for the next turn's commit.
    std::vector<HeldWebhook> held;
    held.swap(held_webhooks_);
    for (HeldWebhook& h : held) {
        if (!why.empty()) journal_refusal(h.reply, why);
        answer_held(h, !why.empty());
    }
}

void Server::settle_held_webhook(size_t i, const WebhookReply* refused, std::string extra) {
    // Out of the list first: answering serves the connection's next requests, which may
    // hold answers again.
    HeldWebhook h = std::move(held_webhooks_[i]);
    held_webhooks_.erase(held_webhooks_.begin() + static_cast<std::ptrdiff_t>(i));
    if (refused) {
        h.reply.status = refused->status;
        h.reply.errcode = refused->errcode;
        h.reply.errmsg = refused->errmsg;
        h.reply.extra.clear();
    } else if (!extra.empty()) {
        h.reply.extra = std::move(extra);
    }
    answer_held(h, refused != nullptr);
}

void Server::answer_held(HeldWebhook& h, bool refused) {
    Connection& c = conns_[h.fd];
    if (c.state != ConnState::kHttp || c.http == nullptr || c.http->held != h.id) return;
    c.http->held = 0;
    // Counted as accepted when it was held: refused after all.
    if (refused && c.http->robot >= 0 && static_cast<size_t>(c.http->robot) < robots_.size()) {
        RobotRuntime& rt = robots_[static_cast<size_t>(c.http->robot)];
        if (rt.accepted) --rt.accepted;
        ++rt.refused;
    }
    reply_webhook(c, h.reply);
    if (c.state != ConnState::kHttp) return;
    next_request(c, h.used);
    serve_http(c, 0);
    // The client half-closed meanwhile: what it sent is answered (or held again), then
    // the connection goes as it would have.
    if (c.state == ConnState::kHttp && c.http && c.http->peer_done && !c.http->held) on_peer_eof(c);
}

std::string_view Server::journal_reason() const noexcept {
    std::string_view why = journal_->error().text;  // "journal <file>: <call>: <reason>"
    if (why.starts_with("journal ")) why.remove_prefix(8);
    return why;
}

bool Server::journal_busy() const noexcept {
    // Drops the failing journal did not take wait for the retry's timer.
    return journal_ && (journal_->has_batch() || !held_webhooks_.empty() ||
                        (!journal_drops_.empty() && journal_retry_at_ == 0) || (control_ && control_->has_held()));
}

void Server::journal_refusal(WebhookReply& w, std::string_view why) {
    w.status = 503;
    w.errcode = robot::kJournal;
    w.errmsg = "journal: ";
    w.errmsg += why;
    w.held = false;
}

void Server::hold_webhook(Connection& c, WebhookReply&& w, size_t used) {
    // Its body timer must not refuse it in this turn (timers run before the commit):
    // next_request() arms the next one.
    wheel_.cancel(cold(c).timer);
    c.http->held = ++held_ids_;
    w.held = false;
    if (w.redis_ticket) redis_wait(w.redis_ticket, {RedisWaiter::Kind::kWebhook, c.http->held, w.redis_seq});
    held_webhooks_.push_back({fd_of(c), c.http->held, used, std::move(w)});
}

std::string Server::journal_json() const {
    if (!journal_) return "{\"state\":\"off\"}";
    using ull = unsigned long long;
    const journal::WriterStats& s = journal_->stats();
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"state\":\"%s\",\"fsync\":\"%s\",\"bytes\":%llu,\"segments\":%zu,\"appended\":%llu,\"commits\":%llu,"
             "\"syncs\":%llu,\"errors\":%llu,\"segments_dropped\":%llu,\"evicted\":%llu",
             journal_retry_at_ ? "failing" : "ok", fsync_name(cfg_.fsync), (ull)journal_->bytes(),
             journal_->segments(), (ull)s.appended, (ull)s.commits, (ull)s.syncs, (ull)s.errors,
             (ull)s.segments_dropped, (ull)s.evicted);
    std::string out = buf;
    if (journal_retry_at_) {
        out += ",\"error\":";
        append_json_text(out, journal_->error().text);
    }
    return out += '}';
}

}  // namespace wspush::server
