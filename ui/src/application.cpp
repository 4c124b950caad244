#include "karyon/ui/application.hpp"

#include <QDebug>
#include <exception>

#include "karyon/core/version.hpp"

namespace karyon::ui {

void Application::setIdentity() {
  QCoreApplication::setOrganizationName(QStringLiteral("Karyon"));
  QCoreApplication::setApplicationName(QStringLiteral("karyon"));
  QCoreApplication::setApplicationVersion(QString::fromLatin1(core::version));
}

Application::Application(int& argc, char** argv) : QApplication(argc, argv) { setIdentity(); }

bool Application::notify(QObject* receiver, QEvent* event) {
  try {
    return QApplication::notify(receiver, event);
  } catch (const std::exception& e) {
    qCritical().noquote() << "uncaught exception in event handler of"
                          << (receiver ? receiver->metaObject()->className() : "?") << ":" << e.what();
  } catch (...) {
    qCritical() << "uncaught unknown exception in an event handler";
  }
  return false;
}

}  // namespace karyon::ui
