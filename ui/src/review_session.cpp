#include "karyon/ui/review_session.hpp"

#include <QFutureWatcher>
#include <QUndoCommand>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <exception>
#include <set>
#include <vector>
#if defined(Q_OS_UNIX)
#include <pwd.h>
#include <unistd.h>
#endif

#include "karyon/core/errors.hpp"
#include "karyon/core/uuid.hpp"
#include "karyon/postprocess/nucleus_builder.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"

namespace karyon::ui {

namespace {

using core::ReviewState;

QRectF areaOf(const core::Nucleus& n) { return toQRectF(n.bbox); }

// Base of the review commands: the first redo() is the edit itself, already written by the
// session before the push (so that a refused write never lands on the stack); later redo()s and
// every undo() write at once. Failures are reported, not thrown (QUndoStack is driven from slots).
class StoreCommand : public QUndoCommand {
 public:
  StoreCommand(ReviewSession* session, const QString& text) : QUndoCommand(text), m_session(session) {}
  void redo() final {
    if (m_first) {
      m_first = false;
      return;
    }
    run(true);
  }
  void undo() final { run(false); }

 protected:
  virtual void apply(ReviewSession& s, bool forward) = 0;

 private:
  void run(bool forward) {
    if (!m_session) return;
    try {
      apply(*m_session, forward);
    } catch (const std::exception& e) {
      m_session->reportError(QString::fromUtf8(e.what()));
    }
  }
  QPointer<ReviewSession> m_session;
  bool m_first = true;
};

class StateCommand : public StoreCommand {
 public:
  StateCommand(ReviewSession* s, qint64 id, ReviewState before, ReviewState after, QRectF area, const QString& text)
      : StoreCommand(s, text), m_id(id), m_before(before), m_after(after), m_area(area) {}

 protected:
  void apply(ReviewSession& s, bool forward) override {
    const ReviewState to = forward ? m_after : m_before;
    s.store().set_state(m_id, to, s.user().toStdString());
    s.noteStateChange(m_id, forward ? m_before : m_after, to, m_area);
  }

 private:
  qint64 m_id;
  ReviewState m_before, m_after;
  QRectF m_area;
};

class ClassCommand : public StoreCommand {
 public:
  ClassCommand(ReviewSession* s, qint64 id, std::string before, std::string after, QRectF area)
      : StoreCommand(s, QObject::tr("Reclassify as %1").arg(QString::fromStdString(after))),
        m_id(id), m_before(std::move(before)), m_after(std::move(after)), m_area(area) {}

 protected:
  void apply(ReviewSession& s, bool forward) override {
    s.store().set_class(m_id, forward ? m_after : m_before, s.user().toStdString());
    s.noteEdit(m_id, m_area);
  }

 private:
  qint64 m_id;
  std::string m_before, m_after;
  QRectF m_area;
};

class PolygonCommand : public StoreCommand {
 public:
  PolygonCommand(ReviewSession* s, core::Nucleus before, core::Nucleus after)
      : StoreCommand(s, QObject::tr("Edit outline")), m_before(std::move(before)), m_after(std::move(after)) {}

 protected:
  void apply(ReviewSession& s, bool forward) override {
    const core::Nucleus& n = forward ? m_after : m_before;
    s.store().set_polygon(n.id, n, s.user().toStdString());
    s.noteEdit(n.id, areaOf(m_before).united(areaOf(m_after)));
  }

 private:
  core::Nucleus m_before, m_after;
};

// Undoing a drawn nucleus marks it deleted (the store keeps rows; the log keeps the history);
// redoing brings it back as drawn.
class DrawCommand : public StoreCommand {
 public:
  DrawCommand(ReviewSession* s, qint64 id, QRectF area) : StoreCommand(s, QObject::tr("Draw nucleus")), m_id(id), m_area(area) {}

 protected:
  void apply(ReviewSession& s, bool forward) override {
    const ReviewState from = forward ? ReviewState::Deleted : ReviewState::Drawn;
    const ReviewState to = forward ? ReviewState::Drawn : ReviewState::Deleted;
    s.store().set_state(m_id, to, s.user().toStdString());
    s.noteStateChange(m_id, from, to, m_area);
  }

 private:
  qint64 m_id;
  QRectF m_area;
};

QString stateVerb(ReviewState s) {
  switch (s) {
    case ReviewState::Accepted: return QObject::tr("Accept nucleus");
    case ReviewState::Rejected: return QObject::tr("Reject nucleus");
    case ReviewState::Deleted: return QObject::tr("Delete nucleus");
    case ReviewState::Unreviewed: return QObject::tr("Mark unreviewed");
    case ReviewState::Drawn: return QObject::tr("Mark drawn");
  }
  return QObject::tr("Change state");
}

struct ScanResult {
  std::array<qint64, ReviewSession::kStateCount> counts{};
  std::vector<qint64> queue;
  QStringList classes;
  QString error;
};

}  // namespace

QString ReviewSession::osUser() {
  // The account the app runs as (what an audit asks for), not an environment variable a launcher
  // may leave unset or anyone may set; those only when the system has no entry for the uid.
#if defined(Q_OS_UNIX)
  const long size = std::max(16384L, sysconf(_SC_GETPW_R_SIZE_MAX));
  std::vector<char> buffer(static_cast<std::size_t>(size));
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_name &&
      *found->pw_name)
    return QString::fromLocal8Bit(found->pw_name);
#endif
  const QString u = qEnvironmentVariable("USER", qEnvironmentVariable("USERNAME", qEnvironmentVariable("LOGNAME")));
#if defined(Q_OS_UNIX)
  if (u.isEmpty()) return QStringLiteral("uid %1").arg(geteuid());
#endif
  return u.isEmpty() ? QStringLiteral("unknown") : u;
}

namespace {

}  // namespace

ReviewSession::ReviewSession(const QString& storePath, double mppX, double mppY, QObject* parent)
    : QObject(parent), m_path(storePath), m_user(osUser()), m_mppX(mppX), m_mppY(mppY > 0 ? mppY : mppX) {
  m_store = std::make_unique<postprocess::ResultStore>(storePath.toStdString());
  m_reader = std::make_shared<StoreReader>(storePath.toStdString());
  // An endless stack would keep every polygon ever edited; a working session needs far fewer.
  m_undo.setUndoLimit(1000);
  refreshStatistics();
}

ReviewSession::~ReviewSession() {
  // Commands hold QPointers to this session; clearing first keeps their destructors trivial.
  m_undo.clear();
}

std::optional<core::Nucleus> ReviewSession::nucleus(qint64 id) const {
  try {
    return m_store->get(id);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool ReviewSession::setState(qint64 id, ReviewState state) {
  try {
    const auto n = m_store->get(id);
    if (!n) throw core::InvalidArgument(m_path.toStdString() + ": no nucleus with id " + std::to_string(id));
    if (n->state == state) return true;
    m_store->set_state(id, state, m_user.toStdString());
    m_undo.push(new StateCommand(this, id, n->state, state, areaOf(*n), stateVerb(state)));
    noteStateChange(id, n->state, state, areaOf(*n));
    return true;
  } catch (const std::exception& e) {
    emit editFailed(QString::fromUtf8(e.what()));
    return false;
  }
}

bool ReviewSession::setClass(qint64 id, const QString& className) {
  try {
    const auto n = m_store->get(id);
    if (!n) throw core::InvalidArgument(m_path.toStdString() + ": no nucleus with id " + std::to_string(id));
    const std::string after = className.trimmed().toStdString();
    if (after.empty()) throw core::InvalidArgument("a class name may not be empty");
    // Choosing a class is a review decision: an unreviewed detection becomes accepted (with the new
    // class), in one undo step. Other states (drawn, rejected, accepted) are kept.
    const bool review = n->state == ReviewState::Unreviewed;
    if (n->class_name == after && !review) return true;
    if (n->class_name != after) m_store->set_class(id, after, m_user.toStdString());
    if (review) m_store->set_state(id, ReviewState::Accepted, m_user.toStdString());
    const QString text = tr("Reclassify as %1").arg(QString::fromStdString(after));
    if (review) m_undo.beginMacro(text);
    if (n->class_name != after) m_undo.push(new ClassCommand(this, id, n->class_name, after, areaOf(*n)));
    if (review) {
      m_undo.push(new StateCommand(this, id, ReviewState::Unreviewed, ReviewState::Accepted, areaOf(*n), text));
      m_undo.endMacro();
    }
    if (!m_classNames.contains(className.trimmed())) m_classNames << className.trimmed();
    if (review)
      noteStateChange(id, ReviewState::Unreviewed, ReviewState::Accepted, areaOf(*n));
    else
      emit edited(id, areaOf(*n));
    return true;
  } catch (const std::exception& e) {
    emit editFailed(QString::fromUtf8(e.what()));
    return false;
  }
}

core::Nucleus ReviewSession::withPolygon(core::Nucleus n, const core::Polygon& polygon) const {
  // The engine's measuring code (the one detections get), on the slide's level-0 pixels under the
  // outline for the stain densities.
  postprocess::SourcePixels pixels;
  Level0Pixels read;
  if (m_pixelReader && !polygon.outer.empty()) {
    double x0 = polygon.outer.front().x, y0 = polygon.outer.front().y, x1 = x0, y1 = y0;
    for (const auto& p : polygon.outer)
      x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    // Only an outline of nucleus size is read (a bigger one is refused by measure_outline anyway).
    if (x1 - x0 <= postprocess::kMaxOutlineSide && y1 - y0 <= postprocess::kMaxOutlineSide) {
      const QRect box(QPoint(static_cast<int>(std::floor(x0)), static_cast<int>(std::floor(y0))),
                      QPoint(static_cast<int>(std::ceil(x1)), static_cast<int>(std::ceil(y1))));
      read = m_pixelReader(box);
      if (!read.image.empty()) pixels = {&read.image, read.x, read.y};
    }
  }
  return postprocess::measure_outline(std::move(n), polygon, m_mppX > 0 ? m_mppX : 0, m_mppY > 0 ? m_mppY : 0, pixels);
}

bool ReviewSession::setPolygon(qint64 id, const core::Polygon& polygon) {
  try {
    if (polygon.outer.size() < 3) throw core::InvalidArgument("an outline needs at least 3 points");
    const auto before = m_store->get(id);
    if (!before) throw core::InvalidArgument(m_path.toStdString() + ": no nucleus with id " + std::to_string(id));
    const core::Nucleus after = withPolygon(*before, polygon);
    m_store->set_polygon(id, after, m_user.toStdString());
    m_undo.push(new PolygonCommand(this, *before, after));
    emit edited(id, areaOf(*before).united(areaOf(after)));
    return true;
  } catch (const std::exception& e) {
    emit editFailed(QString::fromUtf8(e.what()));
    return false;
  }
}

qint64 ReviewSession::drawNucleus(const core::Polygon& polygon) {
  try {
    if (polygon.outer.size() < 3) throw core::InvalidArgument("a drawn nucleus needs at least 3 points");
    core::Nucleus n;
    n.uuid = core::random_uuid();
    n.score = 1;  // drawn by a person: certain by definition, never at the head of the review queue
    n = withPolygon(std::move(n), polygon);
    const qint64 id = m_store->add_drawn(n, m_user.toStdString());
    m_undo.push(new DrawCommand(this, id, areaOf(n)));
    ++m_counts[static_cast<int>(ReviewState::Drawn)];
    emit statisticsChanged();
    emit edited(id, areaOf(n));
    return id;
  } catch (const std::exception& e) {
    emit editFailed(QString::fromUtf8(e.what()));
    return 0;
  }
}

void ReviewSession::noteStateChange(qint64 id, ReviewState before, ReviewState after, const QRectF& area) {
  if (before != after) {
    auto& b = m_counts[static_cast<int>(before)];
    b = std::max<qint64>(0, b - 1);
    ++m_counts[static_cast<int>(after)];
    emit statisticsChanged();
  }
  emit edited(id, area);
}

void ReviewSession::refreshStatistics() {
  m_scanPending = true;
  const int generation = ++*m_scanGeneration;
  auto* watcher = new QFutureWatcher<ScanResult>(this);
  connect(watcher, &QFutureWatcher<ScanResult>::finished, this, [this, watcher, generation] {
    watcher->deleteLater();
    if (generation != *m_scanGeneration) return;  // a newer scan supersedes this one
    m_scanPending = false;
    const ScanResult r = watcher->result();
    if (!r.error.isEmpty()) {
      emit editFailed(r.error);
      return;
    }
    m_counts = r.counts;
    m_classNames = r.classes;
    // Keep the reviewer's place: continue from the nucleus they were on if it is still queued.
    const qint64 current = (m_queuePos >= 0 && m_queuePos < static_cast<int>(m_queue.size())) ? m_queue[m_queuePos] : 0;
    m_queue = r.queue;
    const auto it = std::find(m_queue.begin(), m_queue.end(), current);
    m_queuePos = it == m_queue.end() ? -1 : static_cast<int>(it - m_queue.begin());
    emit statisticsChanged();
  });
  const std::filesystem::path path = m_path.toStdString();
  watcher->setFuture(QtConcurrent::run([path]() -> ScanResult {
    ScanResult r;
    try {
      // Its own connection: this runs on a pool thread while the GUI thread may write.
      postprocess::ResultStore store(path);
      const auto overview = postprocess::review_overview(store);
      for (int s = 0; s < ReviewSession::kStateCount; ++s) r.counts[s] = overview.counts[s];
      r.queue.assign(overview.queue.begin(), overview.queue.end());
      for (const auto& c : overview.classes) r.classes << QString::fromStdString(c);
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

bool ReviewSession::isUnreviewed(qint64 id) const {
  const auto n = nucleus(id);
  return n && n->state == ReviewState::Unreviewed;
}

qint64 ReviewSession::nextInQueue() {
  for (int i = m_queuePos + 1; i < static_cast<int>(m_queue.size()); ++i)
    if (isUnreviewed(m_queue[i])) {
      m_queuePos = i;
      return m_queue[i];
    }
  return 0;
}

qint64 ReviewSession::previousInQueue() {
  // Backwards the reviewer may want to revisit what they just decided, so nothing is skipped.
  if (m_queuePos <= 0 || m_queue.empty()) return 0;
  m_queuePos = std::min(m_queuePos, static_cast<int>(m_queue.size())) - 1;
  return m_queue[m_queuePos];
}

}  // namespace karyon::ui
