// Row "Trust bundles" of the overview dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
local bundles = import '../bundle-panels.libsonnet';
function(c) {
  title: "Trust bundles",
  panels: [
    {
      type: "table",
      title: "CA horizon per trust domain",
      description: "Per trust domain, as seen by the worst exporter: time until the newest CA expires (the bundle's horizon; red under 6 h like SpiffeTrustBundleCAExpiring), the soonest expiry among valid CAs, and valid vs total CAs. Expired CAs in the bundle are normal.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 14,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min{source=~\"$source\"} - time()",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min{source=~\"$source\"} * 1000",
          refId: "B",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_trust_domain:spiffe_trust_bundle_earliest_expiry_timestamp_seconds:min{source=~\"$source\"} * 1000",
          refId: "C",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_trust_domain:spiffe_trust_bundle_valid_certificates:min{source=~\"$source\"}",
          refId: "D",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (source, trust_domain) (spiffe_trust_bundle_certificates{instance=~\"$instance\", source=~\"$source\"})",
          refId: "E",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        }
      ],
      fieldConfig: {
        defaults: {
          custom: {
            align: "auto",
            cellOptions: {
              type: "auto"
            },
            inspect: false,
            filterable: true
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "green",
                value: null
              }
            ]
          },
          mappings: [],
          color: {
            mode: "thresholds"
          }
        },
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "Value #A"
            },
            properties: [
              {
                id: "displayName",
                value: "Horizon in"
              },
              {
                id: "unit",
                value: "s"
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: c.bundleHorizonSeconds
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-background"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #B"
            },
            properties: [
              {
                id: "displayName",
                value: "Newest CA expires"
              },
              {
                id: "unit",
                value: "dateTimeAsIso"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #C"
            },
            properties: [
              {
                id: "displayName",
                value: "Soonest valid CA expires"
              },
              {
                id: "unit",
                value: "dateTimeAsIso"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #D"
            },
            properties: [
              {
                id: "displayName",
                value: "Valid CAs (fewest)"
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: 1
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #E"
            },
            properties: [
              {
                id: "displayName",
                value: "CAs (most)"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "trust_domain"
            },
            properties: [
              {
                id: "displayName",
                value: "Trust domain"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "source"
            },
            properties: [
              {
                id: "displayName",
                value: "Source"
              }
            ]
          }
        ]
      },
      options: {
        showHeader: true,
        cellHeight: "sm",
        footer: {
          show: false,
          reducer: [
            "sum"
          ],
          fields: ""
        },
        sortBy: [
          {
            displayName: "Horizon in",
            desc: false
          }
        ]
      },
      transformations: [
        {
          id: "merge",
          options: {}
        },
        {
          id: "organize",
          options: {
            excludeByName: {
              Time: true,
              __name__: true
            },
            renameByName: {},
            indexByName: {
              trust_domain: 0,
              source: 1,
              "Value #A": 2,
              "Value #B": 3,
              "Value #C": 4,
              "Value #D": 5,
              "Value #E": 6
            }
          }
        }
      ]
    },
    {
      type: "timeseries",
      title: "CA horizon",
      description: "Time until the newest CA of each trust domain expires. A CA rotation shows as a jump up.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 14,
        y: 0,
        w: 10,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min{source=~\"$source\"} - time()",
          refId: "A",
          legendFormat: "{{trust_domain}} ({{source}})",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "s",
          custom: {
            drawStyle: "line",
            lineWidth: 1,
            fillOpacity: 10,
            gradientMode: "none",
            showPoints: "never",
            spanNulls: false,
            axisPlacement: "auto",
            axisSoftMin: 0,
            stacking: {
              mode: "none",
              group: "A"
            },
            thresholdsStyle: {
              mode: "dashed"
            }
          },
          color: {
            mode: "palette-classic"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "red",
                value: null
              },
              {
                color: "green",
                value: c.bundleHorizonSeconds
              }
            ]
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        legend: {
          displayMode: "table",
          placement: "bottom",
          showLegend: true,
          calcs: [
            "lastNotNull"
          ]
        },
        tooltip: {
          mode: "multi",
          sort: "desc"
        }
      }
    },
    bundles.consistency(c, 'instance=~"$instance"', c.fleetBy + 'instance, ', { x: 0, y: 8, w: 12, h: 8 }),
    bundles.federation(c, 'instance=~"$instance"', c.fleetBy + 'instance, ', { x: 12, y: 8, w: 12, h: 8 }),
  ],
}
