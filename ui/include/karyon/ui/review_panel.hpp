#pragma once
// The Review dock's panel: the results shown, the counts per review state, the review queue (how
// many are left, Previous / Next), the selected nucleus (Accept / Reject / Delete) and the heatmap
// opacity. It shows a ReviewSession and asks for the edits by signals; it writes nothing itself.
// Its buttons never take the keyboard focus, and are enabled only with results shown.
#include <QList>
#include <QWidget>

#include "karyon/core/nucleus.hpp"

class QLabel;
class QPushButton;

namespace karyon::ui {

class ReviewSession;

class ReviewPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ReviewPanel(double heatmapOpacity, QWidget* parent = nullptr);

  // Shows `session` (nullptr: none) with nucleus `selected` (0: none).
  void showSession(ReviewSession* session, qint64 selected);

 signals:
  void previousRequested();
  void nextRequested();
  void stateRequested(karyon::core::ReviewState state);
  void heatmapOpacityChanged(double opacity);  // 0..1

 private:
  QList<QPushButton*> m_buttons;
  QLabel* m_resultsLabel = nullptr;
  QLabel* m_countsLabel = nullptr;
  QLabel* m_queueLabel = nullptr;
  QLabel* m_selectionLabel = nullptr;
};

}  // namespace karyon::ui
