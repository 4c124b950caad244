#pragma once
// View > Show Outlines by State / by Class: check boxes for NucleusOverlay's outline filters
// (display only). The classes change with reclassification and imports, so the class menu is
// rebuilt from `classNames` each time it opens ("Nucleus" when there are none).
#include <QStringList>
#include <functional>

class QMenu;

namespace karyon::ui {

class NucleusOverlay;

void addOutlineFilterMenus(QMenu* view, NucleusOverlay* overlay, std::function<QStringList()> classNames);

}  // namespace karyon::ui
