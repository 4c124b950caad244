#include "karyon/ui/review_panel.hpp"

#include <QDir>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <tuple>

#include "karyon/ui/review_session.hpp"

namespace karyon::ui {

ReviewPanel::ReviewPanel(double heatmapOpacity, QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  m_resultsLabel = new QLabel(this);
  m_resultsLabel->setWordWrap(true);
  m_resultsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_countsLabel = new QLabel(this);
  m_countsLabel->setObjectName(QStringLiteral("reviewCounts"));
  m_countsLabel->setTextFormat(Qt::RichText);
  m_queueLabel = new QLabel(this);
  m_queueLabel->setObjectName(QStringLiteral("reviewQueue"));
  m_queueLabel->setWordWrap(true);
  auto* queueButtons = new QHBoxLayout;
  auto* prev = new QPushButton(tr("\u2190 Previous (P)"), this);
  auto* next = new QPushButton(tr("Next (N) \u2192"), this);
  // Buttons must not take the keyboard focus: A/R/N/P go to the window's shortcuts either way, but
  // arrows and +/- should keep reaching the viewer.
  prev->setFocusPolicy(Qt::NoFocus);
  next->setFocusPolicy(Qt::NoFocus);
  prev->setObjectName(QStringLiteral("previousButton"));
  next->setObjectName(QStringLiteral("nextButton"));
  m_buttons << prev << next;
  connect(prev, &QPushButton::clicked, this, &ReviewPanel::previousRequested);
  connect(next, &QPushButton::clicked, this, &ReviewPanel::nextRequested);
  queueButtons->addWidget(prev);
  queueButtons->addWidget(next);
  m_selectionLabel = new QLabel(this);
  m_selectionLabel->setTextFormat(Qt::RichText);
  m_selectionLabel->setWordWrap(true);
  auto* decide = new QHBoxLayout;
  const std::tuple<QString, QString, core::ReviewState> buttons[] = {
      {QStringLiteral("acceptButton"), tr("Accept (A)"), core::ReviewState::Accepted},
      {QStringLiteral("rejectButton"), tr("Reject (R)"), core::ReviewState::Rejected},
      {QStringLiteral("deleteButton"), tr("Delete"), core::ReviewState::Deleted}};
  for (const auto& [name, text, state] : buttons) {
    auto* b = new QPushButton(text, this);
    b->setObjectName(name);
    b->setFocusPolicy(Qt::NoFocus);
    m_buttons << b;
    connect(b, &QPushButton::clicked, this, [this, state = state] { emit stateRequested(state); });
    decide->addWidget(b);
  }
  auto* opacity = new QSlider(Qt::Horizontal, this);
  opacity->setRange(0, 100);
  opacity->setValue(static_cast<int>(heatmapOpacity * 100));
  opacity->setFocusPolicy(Qt::NoFocus);
  opacity->setToolTip(tr("Opacity of the density heatmap shown at low zoom"));
  connect(opacity, &QSlider::valueChanged, this, [this](int v) { emit heatmapOpacityChanged(v / 100.0); });
  auto* opacityRow = new QHBoxLayout;
  opacityRow->addWidget(new QLabel(tr("Heatmap opacity"), this));
  opacityRow->addWidget(opacity);

  layout->addWidget(m_resultsLabel);
  layout->addWidget(m_countsLabel);
  layout->addWidget(m_queueLabel);
  layout->addLayout(queueButtons);
  layout->addWidget(m_selectionLabel);
  layout->addLayout(decide);
  layout->addLayout(opacityRow);
  layout->addStretch(1);
}

void ReviewPanel::showSession(ReviewSession* session, qint64 selected) {
  for (QPushButton* b : m_buttons) b->setEnabled(session != nullptr);
  if (!session) {
    m_resultsLabel->setText(tr("<i>No results. Run detection (Analysis menu) or open results.</i>"));
    m_countsLabel->clear();
    m_queueLabel->clear();
    m_selectionLabel->clear();
    return;
  }
  m_resultsLabel->setText(tr("Results: %1").arg(QDir::toNativeSeparators(session->storePath())));
  using S = core::ReviewState;
  const auto c = session->counts();
  qint64 total = 0;
  for (qint64 v : c) total += v;
  m_countsLabel->setText(
      tr("<table><tr><td>Unreviewed&nbsp;</td><td align=right>%1</td></tr><tr><td>Accepted</td><td align=right>%2</td></tr>"
         "<tr><td>Rejected</td><td align=right>%3</td></tr><tr><td>Deleted</td><td align=right>%4</td></tr>"
         "<tr><td>Drawn</td><td align=right>%5</td></tr><tr><td><b>Total</b></td><td align=right><b>%6</b></td></tr></table>%7")
          .arg(c[int(S::Unreviewed)]).arg(c[int(S::Accepted)]).arg(c[int(S::Rejected)]).arg(c[int(S::Deleted)])
          .arg(c[int(S::Drawn)]).arg(total)
          .arg(session->statisticsPending() ? tr("<i>counting\u2026</i>") : QString()));
  // One number that means the same in a session and after a restart: the detections still
  // unreviewed now (not the length of the queue as scanned when the results were opened).
  const qint64 left = session->queueRemaining();
  m_queueLabel->setText(left == 0 ? tr("Review queue: no unreviewed nuclei left")
                                  : tr("Review queue (lowest score first): %n unreviewed left", nullptr, static_cast<int>(left)));
  if (selected == 0) {
    m_selectionLabel->setText(tr("<i>Click a nucleus to select it.</i>"));
    return;
  }
  const auto n = session->nucleus(selected);
  if (!n) {
    m_selectionLabel->clear();
    return;
  }
  m_selectionLabel->setText(tr("<b>Nucleus %1</b><br>State: %2<br>Class: %3<br>Score: %4<br>Area: %5 \u00b5m\u00b2")
                                .arg(n->id)
                                .arg(QString::fromUtf8(core::to_string(n->state)))
                                .arg(QString::fromStdString(n->class_name).toHtmlEscaped())
                                .arg(n->score, 0, 'f', 3)
                                .arg(n->measurements.area_um2, 0, 'f', 1));
}

}  // namespace karyon::ui
