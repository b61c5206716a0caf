"""Small-to-big, measured: rank passages by their best sentence over every sentence of the corpus.

    python benchmarks/quality/real_eval.py --split tune        # first: the indexes ($REAL_INDEX)
    python benchmarks/quality/small_to_big_lab.py

Dense retrieval over the sentence vectors the index stores (read off each passage's run), the
top 200 sentences folded into their passages, best sentence first; graded as real_eval grades,
on the tuning split's answerable questions. Compare with `real_eval.py --split tune --mode dense`
(passage vectors) and the hybrid default (benchmarks/quality/README.md, "Sentence-level evidence").
"""
import collections
import sqlite3
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import real_eval  # noqa: E402

qs=[q for q in real_eval.load_questions() if q.split=='tune' and q.type!='none']
class H:  # a minimal hit for the grader
    def __init__(s, path, a, b, text): s.path, s.line_start, s.line_end, s.text, s.also = path, a, b, text, []
res=collections.defaultdict(lambda: [0,0,0])
for corpus in ('lovit','meme2515','taewan-html'):
    conn=sqlite3.connect(real_eval.INDEXES/f'ix-{corpus}'/'embedsearch.db')
    rows=conn.execute('select chunks.id, documents.path, chunks.line_start, chunks.line_end, chunks.text, sentences, sentence_vectors from chunks join documents on documents.id=chunks.document_id').fetchall()
    owner=[]; mats=[]; info={}
    for cid,path,a,b,text,sp,sv in rows:
        info[cid]=(path,a,b,text)
        if sv:
            m=np.frombuffer(sv,np.float16).astype(np.float32).reshape(-1,384)
            mats.append(m); owner += [cid]*len(m)
    M=np.concatenate(mats); owner=np.array(owner)
    ix=real_eval.open_index(corpus, update=False)
    cache=real_eval.QueryCache(ix.engine._embed_query, ix.embedder.identity)
    root=real_eval.CORPORA/corpus
    for q in (q for q in qs if q.corpus==corpus):
        v=cache(q.q).reshape(-1)
        cos=M@v
        best={}
        for i in np.argsort(-cos)[:200]:
            c=int(owner[i]); best.setdefault(c, float(cos[i]))
        ranked=sorted(best, key=lambda c:-best[c])[:5]
        r=next((k for k,c in enumerate(ranked,1) if real_eval.hit_answers(q, root, H(*info[c]))), None)
        res[corpus][0]+=1; res[corpus][1]+= r==1; res[corpus][2]+= r is not None
    ix.close()
tot=[sum(v[i] for v in res.values()) for i in range(3)]
for k,v in list(res.items())+[('all',tot)]: print(k, v[0], 'small-to-big (late sentences) hit@1 %.3f hit@5 %.3f'%(v[1]/v[0], v[2]/v[0]))
