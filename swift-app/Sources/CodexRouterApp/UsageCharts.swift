import Charts
import CodexRouter
import SwiftUI

/// Each account's usage history, read through the core whenever the profiles are read
/// again (a usage event re-reads them). The samples, their periods, the time a chart shows
/// and the forecast words are all the core's.
@MainActor
final class UsageHistoryModel: ObservableObject {
    /// The accounts that have a history, in the table's order.
    @Published private(set) var histories: [UsageHistory] = []

    /// Reads the history of every profile in `names` (a broken or unreadable one has none).
    func reload(router: Router?, names: [String]) {
        guard let router else {
            histories = []
            return
        }
        histories = names
            .compactMap { try? router.usageHistory(name: $0) }
            .filter { !$0.samples.isEmpty }
    }
}

/// Which window of a sample a chart shows.
enum UsageWindowKind: String, CaseIterable, Identifiable {
    /// The short window (5 h on paid plans); `WindowForecast.window` "primary".
    case primary
    /// The long window (a week); `WindowForecast.window` "secondary".
    case secondary

    var id: String { rawValue }

    /// That window of `sample`.
    func window(of sample: UsageSample) -> SampleWindow? {
        switch self {
        case .primary: return sample.primary
        case .secondary: return sample.secondary
        }
    }
}

/// One point of a chart.
struct UsagePoint: Identifiable {
    let id: Int64
    let date: Date
    let used: Double
    /// The window period it belongs to: one line per period, none across a reset.
    let period: String
}

/// "Usage over time" under the profile table: per account, a chart per window with the
/// core's forecast line under it. Nothing shows until some account has a history.
@MainActor
struct UsageChartsSection: View {
    @EnvironmentObject private var model: RouterModel
    @StateObject private var usage = UsageHistoryModel()
    @State private var expanded = true

    var body: some View {
        VStack(alignment: .leading, spacing: 0) {
            Color.clear.frame(height: 0)
            if !usage.histories.isEmpty {
                DisclosureGroup("Usage over time", isExpanded: $expanded) {
                    ScrollView(.vertical) {
                        VStack(alignment: .leading, spacing: 14) {
                            ForEach(usage.histories, id: \.profile) { history in
                                AccountUsageCharts(history: history)
                            }
                        }
                        .padding(.top, 6)
                    }
                    .frame(maxHeight: 380)
                }
                .padding(10)
            }
        }
        .task(id: model.profiles) {
            usage.reload(router: model.router, names: model.profiles.map(\.name))
        }
    }
}

/// One account: its name, then its windows side by side.
struct AccountUsageCharts: View {
    let history: UsageHistory

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            Text(history.profile).font(.headline)
            HStack(alignment: .top, spacing: 20) {
                ForEach(UsageWindowKind.allCases) { kind in
                    let points = Self.points(history.samples, kind)
                    if !points.isEmpty {
                        VStack(alignment: .leading, spacing: 4) {
                            UsageWindowChart(points: points)
                                .accessibilityLabel("\(history.profile): \(label(kind)) usage chart")
                            if let forecast = history.forecasts.first(where: { $0.window == kind.rawValue }) {
                                Text(forecast.text)
                                    .font(.callout)
                                    .foregroundStyle(forecast.tone.color)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The window's name in the core's words ("5 h", "week"), from its latest sample.
    private func label(_ kind: UsageWindowKind) -> String {
        let minutes = history.samples.reversed().lazy.compactMap { kind.window(of: $0) }.first?.windowMinutes
        return minutes.map { windowLabel(minutes: $0) } ?? "window"
    }

    /// The samples of `kind` within the time the core says its chart shows.
    static func points(_ samples: [UsageSample], _ kind: UsageWindowKind) -> [UsagePoint] {
        let minutes = samples.reversed().lazy.compactMap { kind.window(of: $0) }.first?.windowMinutes
        let since = Int64(Date().timeIntervalSince1970) - usageChartSpan(windowMinutes: minutes)
        return samples.compactMap { sample in
            guard sample.atUnix >= since, let window = kind.window(of: sample) else { return nil }
            return UsagePoint(
                id: sample.atUnix,
                date: Date(timeIntervalSince1970: TimeInterval(sample.atUnix)),
                used: window.usedPercent,
                period: String(window.period)
            )
        }
    }
}

/// The used share of one window against time, 0–100%, the limit marked at 100%.
struct UsageWindowChart: View {
    let points: [UsagePoint]

    var body: some View {
        Chart {
            ForEach(points) { point in
                LineMark(
                    x: .value("Time", point.date),
                    y: .value("Used", point.used),
                    series: .value("Period", point.period)
                )
                .foregroundStyle(Color.accentColor)
            }
            RuleMark(y: .value("Limit", 100.0))
                .foregroundStyle(Color.secondary)
                .lineStyle(StrokeStyle(lineWidth: 1, dash: [2, 3]))
        }
        .chartYScale(domain: 0.0...100.0)
        .chartYAxis {
            AxisMarks(position: .leading, values: [0.0, 50.0, 100.0]) { value in
                AxisGridLine()
                AxisValueLabel {
                    if let percent = value.as(Double.self) {
                        Text("\(Int(percent))%")
                    }
                }
            }
        }
        .frame(width: 360, height: 130)
    }
}
