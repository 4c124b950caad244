// MainWindow's review: the Review and Measurements docks, the Review menu's actions on the
// selected nucleus (accept, reject, delete, reclassify) and the walk along the review queue.
#include <QAction>
#include <QDockWidget>
#include <QInputDialog>
#include <QSettings>
#include <QStatusBar>
#include <QUndoStack>
#include <algorithm>

#include "karyon/ui/main_window.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/review_panel.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

void MainWindow::createReviewDock() {
  m_reviewPanel = new ReviewPanel(m_overlay->heatmapOpacity(), this);
  connect(m_reviewPanel, &ReviewPanel::previousRequested, this, &MainWindow::previousInQueue);
  connect(m_reviewPanel, &ReviewPanel::nextRequested, this, &MainWindow::nextInQueue);
  connect(m_reviewPanel, &ReviewPanel::stateRequested, this,
          [this](core::ReviewState state) { setSelectedState(static_cast<int>(state)); });
  connect(m_reviewPanel, &ReviewPanel::heatmapOpacityChanged, this,
          [this](double opacity) { m_overlay->setHeatmapOpacity(opacity); });
  m_reviewDock = new QDockWidget(tr("Review"), this);
  m_reviewDock->setObjectName(QStringLiteral("reviewDock"));
  m_reviewDock->setWidget(m_reviewPanel);
  addDockWidget(Qt::RightDockWidgetArea, m_reviewDock);
}

void MainWindow::createMeasurementsDock() {
  m_measurements = new MeasurementPanel(this);
  connect(m_measurements, &MeasurementPanel::nucleusActivated, this, &MainWindow::jumpTo);
  connect(m_overlay.get(), &NucleusOverlay::selectionChanged, m_measurements, &MeasurementPanel::showNucleus);
  m_measurementsDock = new QDockWidget(tr("Measurements"), this);
  m_measurementsDock->setObjectName(QStringLiteral("measurementsDock"));
  m_measurementsDock->setWidget(m_measurements);
  // The right-hand docks keep the full height (the Review panel's counts stay whole); the table
  // sits under the slide view only.
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  addDockWidget(Qt::BottomDockWidgetArea, m_measurementsDock);
}

void MainWindow::setAutoAdvance(bool on) { m_autoAdvance->setChecked(on); }
bool MainWindow::autoAdvance() const { return m_autoAdvance->isChecked(); }

void MainWindow::updateReviewDock() {
  const bool has = m_session != nullptr;
  for (QAction* a : m_resultActions) a->setEnabled(has);
  if (m_undo) {
    m_undo->setEnabled(has && m_session->undoStack()->canUndo());
    m_redo->setEnabled(has && m_session->undoStack()->canRedo());
    m_undo->setText(has && m_session->undoStack()->canUndo() ? tr("&Undo %1").arg(m_session->undoStack()->undoText())
                                                               : tr("&Undo"));
    m_redo->setText(has && m_session->undoStack()->canRedo() ? tr("&Redo %1").arg(m_session->undoStack()->redoText())
                                                               : tr("&Redo"));
  }
  if (m_reviewPanel) m_reviewPanel->showSession(m_session, m_overlay ? m_overlay->selected() : 0);
}

// ---- Review actions --------------------------------------------------------------------------

bool MainWindow::checkSelection(const QString& verb) {
  if (!m_session) {
    statusBar()->showMessage(tr("Nothing to %1: open a slide with results first.").arg(verb), kHintMs);
    return false;
  }
  if (!m_overlay->selected()) {
    statusBar()->showMessage(
        tr("Nothing to %1: no nucleus is selected. Click one, or press N for the next in the review queue.").arg(verb),
        kHintMs);
    return false;
  }
  return true;
}

void MainWindow::setSelectedState(int state) {
  const auto s = static_cast<core::ReviewState>(state);
  if (!checkSelection(s == core::ReviewState::Accepted ? tr("accept")
                      : s == core::ReviewState::Rejected ? tr("reject")
                                                          : tr("delete")))
    return;
  const bool saved = m_session->setState(m_overlay->selected(), s);
  // A reviewer walking the queue decides and moves on with one key.
  if (saved && autoAdvance() && (s == core::ReviewState::Accepted || s == core::ReviewState::Rejected)) nextInQueue();
  updateReviewDock();
}

void MainWindow::acceptSelected() { setSelectedState(static_cast<int>(core::ReviewState::Accepted)); }
void MainWindow::rejectSelected() { setSelectedState(static_cast<int>(core::ReviewState::Rejected)); }
void MainWindow::deleteSelected() { setSelectedState(static_cast<int>(core::ReviewState::Deleted)); }

void MainWindow::reclassifySelected(const QString& className) {
  if (!checkSelection(tr("reclassify"))) return;
  m_session->setClass(m_overlay->selected(), className);
  updateReviewDock();
}

void MainWindow::reclassifyWithPicker() {
  if (!checkSelection(tr("reclassify"))) return;
  const auto n = m_session->nucleus(m_overlay->selected());
  if (!n) return;
  const QStringList classes = m_session->classNames();
  bool ok = false;
  const QString chosen = QInputDialog::getItem(this, tr("Reclassify"), tr("Class (type a new one if needed):"), classes,
                                               std::max(0, static_cast<int>(classes.indexOf(QString::fromStdString(n->class_name)))),
                                               true, &ok);
  if (ok && !chosen.trimmed().isEmpty()) reclassifySelected(chosen);
}

void MainWindow::jumpTo(qint64 id) {
  if (!m_session || !id) return;
  const auto n = m_session->nucleus(id);
  if (!n) return;
  // Close enough to judge a nucleus: a ~10 µm nucleus spans ~40 screen pixels at 0.25 µm/px.
  if (m_viewer->downsample() > 1.0) m_viewer->setDownsample(1.0);
  m_viewer->centerOn(QPointF(n->centroid.x, n->centroid.y));
  m_overlay->select(id);
  updateReviewDock();
}

void MainWindow::nextInQueue() {
  if (!m_session) return;
  const qint64 id = m_session->nextInQueue();
  if (id)
    jumpTo(id);
  else
    statusBar()->showMessage(tr("No more unreviewed nuclei in the queue."), 5000);
  updateReviewDock();
}

void MainWindow::previousInQueue() {
  if (!m_session) return;
  if (const qint64 id = m_session->previousInQueue()) jumpTo(id);
  updateReviewDock();
}

}  // namespace karyon::ui
