#pragma once
// The measurement table of a slide's nuclei (QuPath's detection measurement table): every nucleus
// with its class, state, score, centroid and measurements, sortable by any column; clicking a row
// emits nucleusActivated() (the main window centres the view on it). Beside it the counts per
// class and review state and a histogram of one chosen measurement (rejected nuclei left out).
// Counts and bins are the engine's (postprocess::nucleus_statistics); this panel only shows them.
//
// Loading scans the store on a worker thread with its own connection (reload()); review edits
// update single rows (the session's edited() signal), so the table follows the review without
// another scan. GUI thread only.
#include <QPointer>
#include <QWidget>
#include <memory>

class QComboBox;
class QLabel;
class QSortFilterProxyModel;
class QTableView;

namespace karyon::ui {

class HistogramWidget;
class NucleusTableModel;
class ReviewSession;

class MeasurementPanel : public QWidget {
  Q_OBJECT
 public:
  static constexpr int kHistogramBins = 30;

  explicit MeasurementPanel(QWidget* parent = nullptr);
  ~MeasurementPanel() override;

  // The results to show (nullptr: none); loads them.
  void setSession(ReviewSession* session);
  // Rescans the store (after a detection run or an import added nuclei).
  void reload();
  bool isLoading() const { return m_loading; }

  NucleusTableModel* model() const { return m_model; }
  QTableView* table() const { return m_table; }
  HistogramWidget* histogram() const { return m_histogram; }
  QComboBox* histogramChoice() const { return m_choice; }
  QLabel* countsLabel() const { return m_counts; }
  // Marks `id`'s row as current (the nucleus selected in the viewer), without emitting anything.
  void showNucleus(qint64 id);

 signals:
  void nucleusActivated(qint64 id);
  void loaded();

 private:
  void onEdited(qint64 id);
  void updateSummary();
  void updateHistogram();

  QPointer<ReviewSession> m_session;
  NucleusTableModel* m_model = nullptr;
  QSortFilterProxyModel* m_proxy = nullptr;
  QTableView* m_table = nullptr;
  QLabel* m_counts = nullptr;
  QComboBox* m_choice = nullptr;
  HistogramWidget* m_histogram = nullptr;
  bool m_loading = false;
  bool m_reloadAgain = false;
  bool m_summaryDue = false;
  std::shared_ptr<int> m_generation = std::make_shared<int>(0);
};

}  // namespace karyon::ui
