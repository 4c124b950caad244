#include "karyon/ui/histogram_widget.hpp"

#include <QPainter>
#include <algorithm>

namespace karyon::ui {

HistogramWidget::HistogramWidget(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void HistogramWidget::setHistogram(postprocess::Histogram histogram, const QString& label) {
  m_histogram = std::move(histogram);
  m_label = label;
  setToolTip(tr("%1: %n nuclei", nullptr, static_cast<int>(m_histogram.total())).arg(label));
  update();
}

void HistogramWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  const QFontMetrics fm = p.fontMetrics();
  const QRect plot = rect().adjusted(6, fm.height() + 6, -6, -(fm.height() + 6));
  const auto& counts = m_histogram.counts;
  const std::int64_t tallest = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  p.setPen(palette().text().color());
  if (tallest == 0 || plot.width() < 10 || plot.height() < 10) {
    p.drawText(rect(), Qt::AlignCenter, tr("No values"));
    return;
  }
  p.drawText(QRect(6, 2, width() - 12, fm.height()), Qt::AlignLeft, m_label);
  p.drawText(QRect(6, 2, width() - 12, fm.height()), Qt::AlignRight, tr("max %1").arg(tallest));
  const double barW = plot.width() / static_cast<double>(counts.size());
  const QColor bar(0x56, 0xB4, 0xE9);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double h = plot.height() * static_cast<double>(counts[i]) / static_cast<double>(tallest);
    p.fillRect(QRectF(plot.left() + i * barW, plot.bottom() - h, std::max(1.0, barW - 1), h), bar);
  }
  p.drawLine(plot.bottomLeft(), plot.bottomRight());
  const QRect axis(plot.left(), plot.bottom() + 3, plot.width(), fm.height());
  p.drawText(axis, Qt::AlignLeft, QString::number(m_histogram.lo, 'g', 4));
  p.drawText(axis, Qt::AlignRight, QString::number(m_histogram.hi, 'g', 4));
}

}  // namespace karyon::ui
