#include "karyon/ui/outline_filter_menus.hpp"

#include <QAction>
#include <QMenu>
#include <utility>

#include "karyon/ui/nucleus_overlay.hpp"

namespace karyon::ui {

namespace {
void rebuildClassFilterMenu(QMenu* menu, NucleusOverlay* overlay, const QStringList& names) {
  menu->clear();
  QStringList classes = names;
  if (classes.isEmpty()) classes << QStringLiteral("Nucleus");
  for (const QString& name : classes) {
    QAction* a = menu->addAction(QString(name).replace(QLatin1Char('&'), QStringLiteral("&&")));
    a->setObjectName(QStringLiteral("showClass_%1").arg(name));
    a->setCheckable(true);
    a->setChecked(overlay->isClassShown(name));
    QObject::connect(a, &QAction::toggled, overlay, [overlay, name](bool on) { overlay->setClassShown(name, on); });
  }
}
}  // namespace

void addOutlineFilterMenus(QMenu* view, NucleusOverlay* overlay, std::function<QStringList()> classNames) {
  QMenu* byState = view->addMenu(QMenu::tr("Show Outlines by &State"));
  const std::pair<QString, core::ReviewState> states[] = {{QMenu::tr("&Unreviewed"), core::ReviewState::Unreviewed},
                                                          {QMenu::tr("&Accepted"), core::ReviewState::Accepted},
                                                          {QMenu::tr("&Rejected"), core::ReviewState::Rejected},
                                                          {QMenu::tr("&Drawn"), core::ReviewState::Drawn}};
  for (const auto& [label, state] : states) {
    QAction* a = byState->addAction(label);
    a->setObjectName(QStringLiteral("showState_%1").arg(QString::fromUtf8(core::to_string(state))));
    a->setCheckable(true);
    a->setChecked(overlay->isStateShown(state));
    QObject::connect(a, &QAction::toggled, overlay, [overlay, state = state](bool on) { overlay->setStateShown(state, on); });
  }
  QMenu* byClass = view->addMenu(QMenu::tr("Show Outlines by C&lass"));
  QObject::connect(byClass, &QMenu::aboutToShow, byClass, [byClass, overlay, classNames] {
    rebuildClassFilterMenu(byClass, overlay, classNames());
  });
  rebuildClassFilterMenu(byClass, overlay, classNames());
}

}  // namespace karyon::ui
