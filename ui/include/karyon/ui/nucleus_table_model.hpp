#pragma once
// The nuclei of a results store as a table for Qt's views: id, class, state, score, centroid and
// every measurement (postprocess::measurement_columns(), QuPath's names). Display text in
// Qt::DisplayRole; the raw value to sort by in kSortRole (numbers sort as numbers); the nucleus id
// of any cell in kIdRole. Deleted nuclei are not in it.
//
// Rows are plain copies of the store's values (about 150 bytes a nucleus), filled by setRows()
// (from a worker thread's scan) and kept current by updateNucleus()/removeNucleus() on edits.
// GUI thread only.
#include <QAbstractTableModel>
#include <QHash>
#include <QString>
#include <array>
#include <vector>

#include "karyon/core/nucleus.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"

namespace karyon::ui {

class NucleusTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  static constexpr int kSortRole = Qt::UserRole;
  static constexpr int kIdRole = Qt::UserRole + 1;
  static constexpr int kMeasurementCount = 9;
  enum Column { IdColumn, ClassColumn, StateColumn, ScoreColumn, XColumn, YColumn, FirstMeasurementColumn };

  struct Row {
    qint64 id = 0;
    QString className;
    core::ReviewState state = core::ReviewState::Unreviewed;
    float score = 0;
    double x = 0, y = 0;  // centroid, level-0 px
    std::array<double, kMeasurementCount> measurements{};
  };
  static Row rowOf(const core::Nucleus& n);

  explicit NucleusTableModel(QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  void setRows(std::vector<Row> rows);
  void clear() { setRows({}); }
  // Inserts or replaces the nucleus's row (a deleted nucleus is removed).
  void updateNucleus(const core::Nucleus& n);
  void removeNucleus(qint64 id);
  const std::vector<Row>& rows() const { return m_rows; }
  int rowOfId(qint64 id) const { return m_index.value(id, -1); }

  // Counts per class and state of the rows (the engine's tally, kept current with the rows).
  const postprocess::ClassStateCounts& counts() const { return m_counts; }
  // Values of column `column` (score, centroid or a measurement) of the rows not rejected.
  std::vector<double> values(int column) const;

 signals:
  void rowsReplaced();

 private:
  void reindex();
  std::vector<Row> m_rows;
  QHash<qint64, int> m_index;  // id → row
  postprocess::ClassStateCounts m_counts;
};

}  // namespace karyon::ui
