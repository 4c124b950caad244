#include "karyon/ui/nucleus_table_model.hpp"

namespace karyon::ui {

using core::ReviewState;

NucleusTableModel::NucleusTableModel(QObject* parent) : QAbstractTableModel(parent) {
  Q_ASSERT(postprocess::measurement_columns().size() == kMeasurementCount);
}

NucleusTableModel::Row NucleusTableModel::rowOf(const core::Nucleus& n) {
  Row r;
  r.id = n.id;
  r.className = QString::fromStdString(n.class_name);
  r.state = n.state;
  r.score = n.score;
  r.x = n.centroid.x;
  r.y = n.centroid.y;
  const auto& columns = postprocess::measurement_columns();
  for (int i = 0; i < kMeasurementCount; ++i) r.measurements[i] = n.measurements.*(columns[i].member);
  return r;
}

int NucleusTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int NucleusTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : FirstMeasurementColumn + kMeasurementCount;
}

namespace {
double numberOf(const NucleusTableModel::Row& r, int column) {
  switch (column) {
    case NucleusTableModel::IdColumn: return static_cast<double>(r.id);
    case NucleusTableModel::ScoreColumn: return r.score;
    case NucleusTableModel::XColumn: return r.x;
    case NucleusTableModel::YColumn: return r.y;
    default: return r.measurements[column - NucleusTableModel::FirstMeasurementColumn];
  }
}
}  // namespace

QVariant NucleusTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(m_rows.size())) return {};
  const Row& r = m_rows[index.row()];
  const int c = index.column();
  if (role == kIdRole) return r.id;
  if (role == Qt::TextAlignmentRole)
    return c == ClassColumn || c == StateColumn ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                : QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole && role != kSortRole) return {};
  if (c == ClassColumn) return r.className;
  if (c == StateColumn) return QString::fromUtf8(core::to_string(r.state));
  const double v = numberOf(r, c);
  if (role == kSortRole) return v;
  if (c == IdColumn) return r.id;
  if (c == XColumn || c == YColumn) return QString::number(v, 'f', 0);
  return QString::number(v, 'f', c == ScoreColumn ? 3 : 2);
}

QVariant NucleusTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
  switch (section) {
    case IdColumn: return tr("ID");
    case ClassColumn: return tr("Class");
    case StateColumn: return tr("State");
    case ScoreColumn: return tr("Score");
    case XColumn: return tr("Centroid X px");
    case YColumn: return tr("Centroid Y px");
    default:
      if (section >= FirstMeasurementColumn && section < FirstMeasurementColumn + kMeasurementCount)
        return QString::fromUtf8(postprocess::measurement_columns()[section - FirstMeasurementColumn].name);
      return {};
  }
}

void NucleusTableModel::setRows(std::vector<Row> rows) {
  beginResetModel();
  m_rows = std::move(rows);
  reindex();
  m_counts = {};
  for (const Row& r : m_rows) m_counts.add(r.className.toStdString(), r.state);
  endResetModel();
  emit rowsReplaced();
}

void NucleusTableModel::reindex() {
  m_index.clear();
  m_index.reserve(static_cast<qsizetype>(m_rows.size()));
  for (int i = 0; i < static_cast<int>(m_rows.size()); ++i) m_index.insert(m_rows[i].id, i);
}

void NucleusTableModel::updateNucleus(const core::Nucleus& n) {
  if (n.state == ReviewState::Deleted) return removeNucleus(n.id);
  const int at = rowOfId(n.id);
  Row r = rowOf(n);
  if (at < 0) {
    const int row = static_cast<int>(m_rows.size());
    beginInsertRows({}, row, row);
    m_rows.push_back(r);
    m_index.insert(r.id, row);
    m_counts.add(r.className.toStdString(), r.state);
    endInsertRows();
    return;
  }
  Row& old = m_rows[at];
  m_counts.add(old.className.toStdString(), old.state, -1);
  m_counts.add(r.className.toStdString(), r.state);
  old = std::move(r);
  emit dataChanged(index(at, 0), index(at, columnCount() - 1));
}

void NucleusTableModel::removeNucleus(qint64 id) {
  const int at = rowOfId(id);
  if (at < 0) return;
  beginRemoveRows({}, at, at);
  m_counts.add(m_rows[at].className.toStdString(), m_rows[at].state, -1);
  m_rows.erase(m_rows.begin() + at);
  reindex();
  endRemoveRows();
}

std::vector<double> NucleusTableModel::values(int column) const {
  std::vector<double> out;
  if (column == IdColumn || column == ClassColumn || column == StateColumn) return out;
  out.reserve(m_rows.size());
  for (const Row& r : m_rows)
    if (r.state != ReviewState::Rejected) out.push_back(numberOf(r, column));
  return out;
}

}  // namespace karyon::ui
