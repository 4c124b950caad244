#include "karyon/ui/shortcuts_dialog.hpp"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMenu>
#include <QMenuBar>
#include <QTableWidget>
#include <QVBoxLayout>

namespace karyon::ui {

namespace {
QString plain(QString text) {
  text.remove(QLatin1Char('&'));
  text.remove(QStringLiteral("\u2026"));
  return text.trimmed();
}

void collect(const QMenu* menu, const QString& path, QList<QPair<QString, QString>>& out) {
  for (QAction* a : menu->actions()) {
    if (a->isSeparator()) continue;
    if (a->menu()) {
      collect(a->menu(), path + QStringLiteral(" \u2192 ") + plain(a->text()), out);
      continue;
    }
    QStringList keys;
    for (const QKeySequence& k : a->shortcuts()) keys << k.toString(QKeySequence::NativeText);
    if (!keys.isEmpty()) out.append({keys.join(QStringLiteral(", ")), path + QStringLiteral(" \u2192 ") + plain(a->text())});
  }
}
}  // namespace

ShortcutsDialog::ShortcutsDialog(const QMenuBar* menus, QWidget* parent) : QDialog(parent) {
  setObjectName(QStringLiteral("shortcutsDialog"));
  setWindowTitle(tr("Keyboard Shortcuts"));
  for (QAction* top : menus->actions())
    if (top->menu()) collect(top->menu(), plain(top->text()), m_entries);
  // Keys the slide view and the drawing tool read themselves (no menu action).
  const QPair<QString, QString> viewKeys[] = {
      {tr("Mouse wheel"), tr("Slide view \u2192 Zoom at the cursor")},
      {tr("+ / -"), tr("Slide view \u2192 Zoom in / out")},
      {tr("Arrows"), tr("Slide view \u2192 Pan")},
      {tr("Home"), tr("Slide view \u2192 Fit the slide")},
      {tr("Drag"), tr("Slide view \u2192 Pan; on a selected outline's vertex: move it")},
      {tr("Click"), tr("Slide view \u2192 Select a nucleus")},
      {tr("Enter / double-click"), tr("Draw Nucleus \u2192 Close the outline")},
      {tr("Backspace"), tr("Draw Nucleus \u2192 Remove the last point")},
      {tr("Esc"), tr("Draw Nucleus, Detect in Region \u2192 Cancel")}};
  for (const auto& k : viewKeys) m_entries.append(k);

  auto* table = new QTableWidget(static_cast<int>(m_entries.size()), 2, this);
  table->setObjectName(QStringLiteral("shortcutsTable"));
  table->setHorizontalHeaderLabels({tr("Key"), tr("Action")});
  table->verticalHeader()->hide();
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table->setSelectionMode(QAbstractItemView::NoSelection);
  for (int i = 0; i < m_entries.size(); ++i) {
    table->setItem(i, 0, new QTableWidgetItem(m_entries[i].first));
    table->setItem(i, 1, new QTableWidgetItem(m_entries[i].second));
  }
  table->resizeColumnsToContents();
  table->horizontalHeader()->setStretchLastSection(true);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(table);
  layout->addWidget(buttons);
  resize(560, 600);
}

}  // namespace karyon::ui
