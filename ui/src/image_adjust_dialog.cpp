#include "karyon/ui/image_adjust_dialog.hpp"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <cmath>

#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {
// Contrast and gamma are ratios: a log scale puts 1 in the middle and 1/2 and 2 equally far from it.
int toSlider(double ratio) { return static_cast<int>(std::lround(100 * std::log2(ratio))); }
double fromSlider(int v) { return std::exp2(v / 100.0); }

QSlider* makeSlider(int lo, int hi, QWidget* parent) {
  auto* s = new QSlider(Qt::Horizontal, parent);
  s->setRange(lo, hi);
  s->setMinimumWidth(240);
  return s;
}
}  // namespace

ImageAdjustDialog::ImageAdjustDialog(SlideViewer* viewer, QWidget* parent) : QDialog(parent), m_viewer(viewer) {
  setObjectName(QStringLiteral("imageAdjustDialog"));
  setWindowTitle(tr("Adjust Image"));
  m_brightness = makeSlider(-100, 100, this);
  m_contrast = makeSlider(toSlider(DisplayAdjustment::kMinContrast), toSlider(DisplayAdjustment::kMaxContrast), this);
  m_gamma = makeSlider(toSlider(DisplayAdjustment::kMinGamma), toSlider(DisplayAdjustment::kMaxGamma), this);
  m_brightness->setObjectName(QStringLiteral("brightnessSlider"));
  m_contrast->setObjectName(QStringLiteral("contrastSlider"));
  m_gamma->setObjectName(QStringLiteral("gammaSlider"));
  m_values = new QLabel(this);
  auto* form = new QFormLayout;
  form->addRow(tr("&Brightness"), m_brightness);
  form->addRow(tr("&Contrast"), m_contrast);
  form->addRow(tr("&Gamma"), m_gamma);
  auto* note = new QLabel(tr("Changes only how the slide is shown; detection and measurements use the slide's own "
                             "pixels."), this);
  note->setWordWrap(true);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Reset | QDialogButtonBox::Close, this);
  connect(buttons->button(QDialogButtonBox::Reset), &QPushButton::clicked, this, &ImageAdjustDialog::reset);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_values);
  layout->addWidget(note);
  layout->addWidget(buttons);
  for (QSlider* s : {m_brightness, m_contrast, m_gamma}) connect(s, &QSlider::valueChanged, this, &ImageAdjustDialog::apply);
  connect(m_viewer, &SlideViewer::displayAdjustmentChanged, this, &ImageAdjustDialog::syncFromViewer);
  syncFromViewer();
}

void ImageAdjustDialog::reset() { m_viewer->setDisplayAdjustment({}); }

void ImageAdjustDialog::apply() {
  if (m_syncing) return;
  DisplayAdjustment a;
  a.brightness = m_brightness->value() / 100.0;
  a.contrast = m_contrast->value() == 0 ? 1.0 : fromSlider(m_contrast->value());
  a.gamma = m_gamma->value() == 0 ? 1.0 : fromSlider(m_gamma->value());
  m_viewer->setDisplayAdjustment(a);
}

void ImageAdjustDialog::syncFromViewer() {
  const DisplayAdjustment a = m_viewer->displayAdjustment();
  m_syncing = true;
  m_brightness->setValue(static_cast<int>(std::lround(a.brightness * 100)));
  m_contrast->setValue(toSlider(a.contrast));
  m_gamma->setValue(toSlider(a.gamma));
  m_syncing = false;
  m_values->setText(tr("Brightness %1 \u00b7 contrast %2 \u00b7 gamma %3")
                        .arg(a.brightness, 0, 'f', 2)
                        .arg(a.contrast, 0, 'f', 2)
                        .arg(a.gamma, 0, 'f', 2));
}

}  // namespace karyon::ui
