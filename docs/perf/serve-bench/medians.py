import json,glob,statistics as st
def load(fs):
    out=[]
    for f in fs:
        try: out.append(json.load(open(f)))
        except Exception: pass
    return out
sets={"1":sorted(glob.glob('docs/perf/serve-bench/n_threads-1-run*.json')),"2":sorted(glob.glob('docs/perf/serve-bench/n_threads-2-run*.json'))}
for k,fs in sets.items():
    rs=load(fs)
    med=lambda v:(round(st.median(v),3),round(min(v),3),round(max(v),3),len(v))
    print('n_threads',k,'runs',len(rs))
    print(' rps',med([r['throughput_rps'] for r in rs]))
    print(' alone',med([st.fmean(r['backbone_rps_before_after']) for r in rs]))
    print(' ratio',med([r['throughput_over_backbone'] for r in rs]))
    print(' busy',med([r['backbone_busy_share'] for r in rs]))
    print(' slow',med([r['backbone_slowdown'] for r in rs]))
    print(' srvcpu',med([r['server_cpu_per_decision_s'] for r in rs]))
    print(' model cpu in server',med([r['model_cpu_in_server_per_decision_s'] for r in rs if r.get('model_cpu_in_server_per_decision_s')]))
    print(' alone cpu',med([r['backbone_cpu_per_decision_s'] for r in rs]))
    print(' other direct',med([r['server_other_cpu_ms'] for r in rs if r.get('model_cpu_in_server_per_decision_s')]))
    print(' other vs alone',med([r.get('server_other_cpu_vs_alone_ms') or r['server_other_cpu_ms'] for r in rs]))
    print(' nomodel ms/req',med([r['no_model']['server_cpu_per_request_ms'] for r in rs]))
    print(' client ms/req',med([r['client_cpu_per_request_ms'] for r in rs]))
    print(' decide p50',med([r['latency']['decide']['p50_s'] for r in rs]),'p95',med([r['latency']['decide']['p95_s'] for r in rs]))
    print(' profile p50',med([r['latency']['profile']['p50_s'] for r in rs]),'p95',med([r['latency']['profile']['p95_s'] for r in rs]))
    print(' rss',med([r['peak_rss_mb'] for r in rs]),'errors',sum(r['errors'] for r in rs),'decisions',[r['decisions'] for r in rs])
    print(' load end',med([r['load_average_1min_end'] for r in rs]))
