#include "karyon/ui/measurement_panel.hpp"

#include <QComboBox>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>

#include "karyon/postprocess/result_store.hpp"
#include "karyon/ui/histogram_widget.hpp"
#include "karyon/ui/nucleus_table_model.hpp"
#include "karyon/ui/review_session.hpp"

namespace karyon::ui {

using core::ReviewState;

namespace {
struct Scan {
  std::vector<NucleusTableModel::Row> rows;
  QString error;
};

// The states as columns of the counts table (deleted nuclei are not in the table).
constexpr ReviewState kCountedStates[] = {ReviewState::Unreviewed, ReviewState::Accepted, ReviewState::Rejected,
                                          ReviewState::Drawn};
}  // namespace

MeasurementPanel::MeasurementPanel(QWidget* parent) : QWidget(parent) {
  m_model = new NucleusTableModel(this);
  m_proxy = new QSortFilterProxyModel(this);
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(NucleusTableModel::kSortRole);  // numbers as numbers, not as text
  m_table = new QTableView(this);
  m_table->setObjectName(QStringLiteral("nucleusTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(NucleusTableModel::IdColumn, Qt::AscendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->verticalHeader()->hide();
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 4);
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  m_table->setWordWrap(false);
  // The table must not keep the keyboard: A/R/N/P and the arrows belong to the review and viewer.
  m_table->setFocusPolicy(Qt::NoFocus);
  connect(m_table, &QTableView::clicked, this, [this](const QModelIndex& index) {
    if (index.isValid()) emit nucleusActivated(index.data(NucleusTableModel::kIdRole).toLongLong());
  });

  m_counts = new QLabel(this);
  m_counts->setObjectName(QStringLiteral("classStateCounts"));
  m_counts->setTextFormat(Qt::RichText);
  m_counts->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_counts->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_choice = new QComboBox(this);
  m_choice->setObjectName(QStringLiteral("histogramMeasurement"));
  m_choice->setFocusPolicy(Qt::NoFocus);
  for (int c = NucleusTableModel::FirstMeasurementColumn; c < m_model->columnCount(); ++c)
    m_choice->addItem(m_model->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString(), c);
  m_choice->addItem(tr("Score"), static_cast<int>(NucleusTableModel::ScoreColumn));
  m_histogram = new HistogramWidget(this);
  m_histogram->setObjectName(QStringLiteral("measurementHistogram"));
  connect(m_choice, &QComboBox::currentIndexChanged, this, &MeasurementPanel::updateHistogram);

  auto* side = new QVBoxLayout;
  side->addWidget(m_counts);
  auto* choiceRow = new QHBoxLayout;
  choiceRow->addWidget(new QLabel(tr("Histogram"), this));
  choiceRow->addWidget(m_choice, 1);
  side->addLayout(choiceRow);
  side->addWidget(m_histogram, 1);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(m_table, 3);
  layout->addLayout(side, 1);

  connect(m_model, &NucleusTableModel::rowsReplaced, this, &MeasurementPanel::updateSummary);
  updateSummary();
}

MeasurementPanel::~MeasurementPanel() = default;

void MeasurementPanel::setSession(ReviewSession* session) {
  if (m_session) disconnect(m_session, nullptr, this, nullptr);
  m_session = session;
  ++*m_generation;  // a scan of the previous session still running is dropped
  m_loading = false;
  m_reloadAgain = false;
  m_model->clear();
  if (m_session) {
    connect(m_session, &ReviewSession::edited, this, [this](qint64 id) { onEdited(id); });
    reload();
  }
}

void MeasurementPanel::reload() {
  if (!m_session) return;
  if (m_loading) {  // one scan at a time; the newest request runs after it
    m_reloadAgain = true;
    return;
  }
  m_loading = true;
  m_reloadAgain = false;
  const int generation = *m_generation;
  auto* watcher = new QFutureWatcher<Scan>(this);
  connect(watcher, &QFutureWatcher<Scan>::finished, this, [this, watcher, generation] {
    watcher->deleteLater();
    if (generation != *m_generation) return;
    m_loading = false;
    Scan scan = watcher->result();
    if (scan.error.isEmpty()) m_model->setRows(std::move(scan.rows));
    if (m_reloadAgain) {
      reload();
      return;
    }
    emit loaded();
  });
  const std::filesystem::path path = m_session->storePath().toStdString();
  watcher->setFuture(QtConcurrent::run([path]() -> Scan {
    Scan s;
    try {
      const postprocess::ResultStore store(path);  // own connection: this is a pool thread
      store.for_each(
          [&](const core::Nucleus& n) {
            if (n.state != ReviewState::Deleted) s.rows.push_back(NucleusTableModel::rowOf(n));
          },
          true);
    } catch (const std::exception& e) {
      s.error = QString::fromUtf8(e.what());
    }
    return s;
  }));
}

void MeasurementPanel::onEdited(qint64 id) {
  if (!m_session) return;
  if (const auto n = m_session->nucleus(id))
    m_model->updateNucleus(*n);
  else
    m_model->removeNucleus(id);  // undone drawing
  // A burst of edits (undo of a macro, A then N) is summarised once.
  if (!m_summaryDue) {
    m_summaryDue = true;
    QTimer::singleShot(0, this, &MeasurementPanel::updateSummary);
  }
}

void MeasurementPanel::updateSummary() {
  m_summaryDue = false;
  const auto& c = m_model->counts();
  QString html = QStringLiteral("<table cellspacing=0 cellpadding=1><tr><th align=left>%1&nbsp;</th>").arg(tr("Class"));
  const QString stateNames[] = {tr("Unrev."), tr("Acc."), tr("Rej."), tr("Drawn")};
  for (const QString& s : stateNames) html += QStringLiteral("<th align=right>&nbsp;%1</th>").arg(s);
  html += QStringLiteral("<th align=right>&nbsp;%1</th></tr>").arg(tr("Total"));
  auto row = [&](const QString& name, const postprocess::StateCounts& counts, bool bold) {
    qint64 total = 0;
    html += QStringLiteral("<tr><td>%1</td>").arg(bold ? QStringLiteral("<b>%1</b>").arg(name) : name.toHtmlEscaped());
    for (const ReviewState s : kCountedStates) {
      total += counts[static_cast<int>(s)];
      html += QStringLiteral("<td align=right>%1</td>").arg(counts[static_cast<int>(s)]);
    }
    html += QStringLiteral("<td align=right><b>%1</b></td></tr>").arg(total);
  };
  for (const auto& [name, counts] : c.per_class) row(QString::fromStdString(name), counts, false);
  row(tr("All"), c.per_state, true);
  html += QStringLiteral("</table>");
  if (m_loading) html += tr("<i>loading\u2026</i>");
  m_counts->setText(html);
  updateHistogram();
}

void MeasurementPanel::updateHistogram() {
  const int column = m_choice->currentData().toInt();
  m_histogram->setHistogram(postprocess::make_histogram(m_model->values(column), kHistogramBins),
                            m_choice->currentText() + tr(" (not rejected)"));
}

void MeasurementPanel::showNucleus(qint64 id) {
  const int row = m_model->rowOfId(id);
  if (row < 0) {
    m_table->clearSelection();
    return;
  }
  const QModelIndex at = m_proxy->mapFromSource(m_model->index(row, 0));
  m_table->selectRow(at.row());
  m_table->scrollTo(at);
}

}  // namespace karyon::ui
